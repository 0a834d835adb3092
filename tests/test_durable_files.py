"""Files the database names are on disk before the row is committed: written to a temporary
sibling that is fsynced, renamed into place, then the directory fsynced (and those made for
it). The fsyncs are watched by wrapping `os.fsync` (it still syncs) and reading which file
each descriptor is."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from fediverse.media.storage import write_durably
from models.tables import Account
from tests.media_samples import phone_photo
from tests.test_api_media import Site, site, upload  # noqa: F401

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths fsynced from now on, in order (a file by the name it had then)."""
    seen: list[Path] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def assert_durable(target: Path, synced: list[Path]) -> None:
    """`target` was written as a temporary sibling, fsynced, and its directory fsynced after."""
    temporaries = [i for i, path in enumerate(synced) if path.parent == target.parent
                   and path.name.startswith(f".{target.name}.") and path.name.endswith(".tmp")]
    folder = [i for i, path in enumerate(synced) if path == target.parent]
    assert temporaries and folder, (target, synced)
    assert temporaries[0] < folder[-1]


def test_a_file_and_the_folders_made_for_it_are_synced(tmp_path: Path,
                                                       synced: list[Path]) -> None:
    target = tmp_path / "a" / "b" / "picture.png"
    write_durably({target: b"\x89PNG whole"})
    assert target.read_bytes() == b"\x89PNG whole"
    assert_durable(target, synced)
    assert {tmp_path, tmp_path / "a"} <= set(synced)  # the new folders' names too
    assert [p.name for p in target.parent.iterdir()] == ["picture.png"]  # no temporary left


def test_files_written_together_are_each_synced(tmp_path: Path, synced: list[Path]) -> None:
    one, two = tmp_path / "x" / "one.jpg", tmp_path / "y" / "two.jpg"
    write_durably({one: b"1" * 5000, two: b"2" * 10})
    assert one.read_bytes() == b"1" * 5000 and two.read_bytes() == b"2" * 10
    assert_durable(one, synced)
    assert_durable(two, synced)


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, synced: list[Path]) -> None:
    taken = tmp_path / "taken.png"
    (taken / "inside").mkdir(parents=True)  # a folder in the way: the rename fails
    with pytest.raises(OSError):
        write_durably({taken: b"data"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.png"]
    assert [p.name for p in taken.iterdir()] == ["inside"]


async def test_an_uploaded_picture_is_on_disk_before_its_row(site: Site,  # noqa: F811
                                                             synced: list[Path]) -> None:
    async with site.client() as client:
        reply = await client.post("/api/v2/media", **upload(phone_photo((90, 60))))
    assert reply.status_code == 200, reply.text
    (row,) = await site.rows()
    media_dir = site.inst.settings.media_dir
    for relative in (row.file_path, row.thumbnail_path):
        assert relative and (media_dir / relative).stat().st_size > 0
        assert_durable(media_dir / relative, synced)


async def test_a_new_avatar_is_on_disk_before_the_account_names_it(site: Site,  # noqa: F811
                                                                   synced: list[Path]) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 60), (0, 90, 200)).save(buffer, "PNG")
    async with site.client() as client:
        reply = await client.patch("/api/v1/accounts/update_credentials",
                                   files={"avatar": ("me.png", buffer.getvalue(), "image/png")})
    assert reply.status_code == 200, reply.text
    async with site.inst.state.sessions() as session:
        account = (await session.exec(select(Account).where(Account.username == "alice"))).one()
    assert account.avatar_path
    avatar = site.inst.settings.media_dir / account.avatar_path
    assert avatar.read_bytes()[:4] == b"\x89PNG"
    assert_durable(avatar, synced)
    assert avatar.parent.parent in synced  # accounts/avatars/<id>/ was made for it
