"""The media route serves files under the media directory, and nothing outside it."""

from __future__ import annotations

from pathlib import Path

from fediverse.routes.media import media_file


def test_media_file_stays_inside_the_media_dir(tmp_path: Path) -> None:
    root = tmp_path / "media"
    (root / "1").mkdir(parents=True)
    (root / "1" / "fox.png").write_bytes(b"png")
    (tmp_path / "secret").write_text("no")
    (root / "1" / "link").symlink_to(tmp_path / "secret")
    assert media_file(root, "1/fox.png") == (root / "1" / "fox.png").resolve()
    for path in ("../secret", "1/../../secret", "1/link", "/etc/passwd", "1//fox.png", "", "1",
                 "1/missing.png", "1/fox.png\x00"):
        assert media_file(root, path) is None, path
