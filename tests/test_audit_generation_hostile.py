"""Issue 5 audit, hostile remixes: a remote actor who names a followers-only post in
`inReplyTo` (its address known or guessed) cannot have a generator remix an image they may
not see; once they follow its author, they can."""

from __future__ import annotations

from models.tables import MediaAttachment, Status
from outbox import actions
from tests.flows_support import following, pair  # noqa: F401
from tests.test_generation_remix import REMIXED, _image_post


async def test_a_remote_asker_cannot_remix_a_post_hidden_from_them(pair):  # noqa: F811
    a, b = pair
    generator = await a.account("painter", generator=True)
    owner = await a.account("owner")
    hidden = await _image_post(a, owner, visibility="private")
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    owner_on_b = await b.resolve(a.handle("owner"))
    async with b.writer() as session:  # B knows the post's address, not the post
        known = Status(uri=hidden.uri, account_id=owner_on_b.id, local=False,
                       visibility="private")
        session.add(known)
        await session.commit()

    async def ask(text: str) -> Status:
        asked = await b.act(actions.post_status, asker, text=f"@painter@{a.inst.domain} {text}",
                            visibility="public", in_reply_to=known, mentions=[painter])

        async def answered() -> Status | None:
            return await b.one(Status, Status.in_reply_to_id == asked.id)

        return await b.eventually(answered, what="the generator's answer", timeout=60)

    refused = await ask("/imagine the same at night")
    assert "could not find" in refused.content or "could not be found" in refused.content
    assert await b.rows(MediaAttachment, MediaAttachment.status_id == refused.id) == []
    assert await a.rows(MediaAttachment, MediaAttachment.account_id == generator.id) == []

    await following(b, asker, a, owner)  # now a follower: the post is theirs to see
    made = await ask("/imagine the same at dawn")
    media = await b.rows(MediaAttachment, MediaAttachment.status_id == made.id)
    assert len(media) == 1 and (media[0].width, media[0].height) == REMIXED
    assert made.visibility == "private"  # no wider than the post it remixes
