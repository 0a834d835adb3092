"""Refresh tokens on a real instance: a person's token comes with one; trading it gives a new
token (scopes at most the old ones) and kills the old one; it works once, and presenting it
again revokes every token refreshed from it; revoking either kills both. Mastodon.py refreshes through its own `log_in(refresh_token=...)`."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest
from mastodon import Mastodon
from sqlmodel import func, select

from models.accounts import create_account
from models.tables import OAuthToken
from tests.clients_support import OOB, browser_code, call, mastodon_py_login
from tests.instances import Instance, running_instance

PASSWORD = "correct horse battery"
CALLBACK = "https://app.example/callback"


@pytest.fixture
async def inst(tmp_path, database_url):
    async with running_instance(tmp_path / "data", database_url) as instance:
        async with instance.state.sessions() as session:
            await create_account(session, "alice", password=PASSWORD)
            await session.commit()
        yield instance


async def register(client: httpx.AsyncClient, scopes: str = "read write follow") -> dict:
    answer = await client.post("/api/v1/apps", data={
        "client_name": "Refresher", "redirect_uris": CALLBACK, "scopes": scopes})
    assert answer.status_code == 200, answer.text
    app = answer.json()
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


async def password_token(client: httpx.AsyncClient, app: dict, scope: str = "read write") -> dict:
    answer = await client.post("/oauth/token", data={
        "grant_type": "password", "username": "alice", "password": PASSWORD,
        "scope": scope} | app)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def refresh(client: httpx.AsyncClient, app: dict, refresh_token: str,
                  **extra: str) -> httpx.Response:
    return await client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token} | extra | app)


async def me(client: httpx.AsyncClient, token: str) -> int:
    answer = await client.get("/api/v1/accounts/verify_credentials",
                              headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


async def live_tokens(inst: Instance) -> int:
    async with inst.state.sessions() as session:
        query = select(func.count()).select_from(OAuthToken).where(
            OAuthToken.revoked_at.is_(None))  # type: ignore[union-attr]
        return int((await session.exec(query)).one())


async def test_refresh_swaps_the_token_and_works_once(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        first = await password_token(client, app)
        assert first["refresh_token"] and first["refresh_token"] != first["access_token"]
        assert await me(client, first["refresh_token"]) == 401  # not a bearer token
        second = await refresh(client, app, first["refresh_token"])
        assert second.status_code == 200, second.text
        assert second.headers["cache-control"] == "no-store"
        new = second.json()
        assert new["scope"] == "read write" and new["token_type"] == "Bearer"
        assert new["refresh_token"] not in (None, first["refresh_token"])
        assert await me(client, new["access_token"]) == 200
        assert await me(client, first["access_token"]) == 401  # the old token died
        third = await refresh(client, app, new["refresh_token"])  # the new one works, once
        assert third.status_code == 200
        assert await me(client, third.json()["access_token"]) == 200
    assert await live_tokens(inst) == 1


async def test_reusing_a_used_refresh_token_revokes_its_family(inst: Instance) -> None:
    """OAuth 2.1 4.3.1: a used refresh token presented again has leaked; every token refreshed
    from it (access and refresh) dies, other sessions of the same person live on."""
    async with inst.client() as client:
        app = await register(client)
        other = await password_token(client, app)  # another sign-in: not of the family
        first = await password_token(client, app)
        second = (await refresh(client, app, first["refresh_token"])).json()
        third = (await refresh(client, app, second["refresh_token"])).json()
        assert await me(client, third["access_token"]) == 200
        again = await refresh(client, app, first["refresh_token"])  # the thief replays it
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert await me(client, third["access_token"]) == 401
        for token in (first, second, third):
            answer = await refresh(client, app, token["refresh_token"])
            assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
        assert await me(client, other["access_token"]) == 200
        assert (await refresh(client, app, other["refresh_token"])).status_code == 200
    assert await live_tokens(inst) == 1


async def test_racing_refreshes_are_a_reuse(inst: Instance) -> None:
    """Two trades of one refresh token at once: one wins, the other is a reuse, so the
    winner's new token dies too; never two live tokens from one refresh token."""
    async with inst.client() as client:
        app = await register(client)
        first = await password_token(client, app)
        answers = await asyncio.gather(*(refresh(client, app, first["refresh_token"])
                                         for _ in range(2)))
        assert sorted(a.status_code for a in answers) == [200, 400]
        assert await me(client, first["access_token"]) == 401
    assert await live_tokens(inst) == 0


async def test_a_reused_code_revokes_the_tokens_refreshed_from_it(inst: Instance) -> None:
    """RFC 6749 4.1.2: a code used twice revokes what it gave, and what was refreshed from it."""
    async with inst.client() as client:
        made = await client.post("/api/v1/apps", data={
            "client_name": "Replayer", "redirect_uris": OOB, "scopes": "read"})
        app = {key: made.json()[key] for key in ("client_id", "client_secret")}
        query = urlencode({"response_type": "code", "client_id": app["client_id"],
                           "redirect_uri": OOB, "scope": "read"})
        code = await browser_code(f"{inst.base_url}/oauth/authorize?{query}", "alice")
        exchange = {"grant_type": "authorization_code", "code": code,
                    "redirect_uri": OOB} | app
        issued = await client.post("/oauth/token", data=exchange)
        assert issued.status_code == 200, issued.text
        refreshed = await refresh(client, app, issued.json()["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        token = refreshed.json()["access_token"]
        assert await me(client, token) == 200
        replayed = await client.post("/oauth/token", data=exchange)
        assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
        assert await me(client, token) == 401
    assert await live_tokens(inst) == 0


async def test_refreshed_scopes_stay_within_the_old_ones(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        token = await password_token(client, app, "read write")
        wider = await refresh(client, app, token["refresh_token"], scope="read write follow")
        unknown = await refresh(client, app, token["refresh_token"], scope="read sudo")
        assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
        assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_scope"
        assert await me(client, token["access_token"]) == 200  # refusals changed nothing
        narrower = await refresh(client, app, token["refresh_token"], scope="read:accounts")
        assert narrower.status_code == 200, narrower.text
        assert narrower.json()["scope"] == "read:accounts"
        narrow = narrower.json()["access_token"]
        assert await me(client, narrow) == 200
        posted = await client.post("/api/v1/statuses", data={"status": "hi"},
                                   headers={"Authorization": f"Bearer {narrow}"})
        assert posted.status_code == 403
        back = await refresh(client, app, narrower.json()["refresh_token"], scope="read")
        assert back.status_code == 400 and back.json()["error"] == "invalid_scope"


async def test_refresh_by_another_app_or_unknown_is_refused(inst: Instance) -> None:
    async with inst.client() as client:
        app, other = await register(client), await register(client)
        token = await password_token(client, app)
        stolen = await refresh(client, other, token["refresh_token"])
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
        unknown = await refresh(client, app, "no-such-token")
        missing = await client.post("/oauth/token", data={"grant_type": "refresh_token"} | app)
        assert unknown.status_code == 400 and missing.status_code == 400
        bad_secret = await refresh(client, app | {"client_secret": "x"}, token["refresh_token"])
        assert bad_secret.status_code == 401
        assert await me(client, token["access_token"]) == 200
        assert (await refresh(client, app, token["refresh_token"])).status_code == 200


async def test_app_tokens_have_no_refresh_token(inst: Instance) -> None:
    async with inst.client() as client:
        app = await register(client)
        answer = await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "scope": "read"} | app)
    assert answer.status_code == 200 and "refresh_token" not in answer.json()


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
async def test_revoking_either_kills_both(inst: Instance, which: str) -> None:
    async with inst.client() as client:
        app = await register(client)
        token = await password_token(client, app)
        revoked = await client.post("/oauth/revoke", data={"token": token[which]} | app)
        assert revoked.status_code == 200 and revoked.json() == {}
        assert await me(client, token["access_token"]) == 401
        after = await refresh(client, app, token["refresh_token"])
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    assert await live_tokens(inst) == 0


async def test_mastodon_py_refreshes_after_the_code_flow(inst: Instance) -> None:
    base = inst.base_url
    api = await mastodon_py_login(base, "alice")
    old_token, refresh_token = api.access_token, api._refresh_token
    assert refresh_token
    assert (await call(api.account_verify_credentials)).username == "alice"
    new_token = await call(api.log_in, refresh_token=refresh_token, allow_http=True,
                           scopes=["read", "write", "follow", "push"])
    assert new_token != old_token and api._refresh_token not in (None, refresh_token)
    assert (await call(api.account_verify_credentials)).username == "alice"
    stale = await call(Mastodon, access_token=old_token, api_base_url=base,
                       version_check_mode="none")
    with pytest.raises(Exception, match="401|nauthorized"):
        await call(stale.account_verify_credentials)
