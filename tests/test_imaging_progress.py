"""`fediverse generate` shows diffusers' progress bar when standard error is a terminal (a
real pseudo-terminal here), and only its one-line summary when it is a pipe."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

pty = pytest.importorskip("pty")  # POSIX only
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")
SUMMARY = re.compile(r"wrote (\S+) \(64x64, seed 3, 2 steps, [0-9.]+ s\)")
BAR = re.compile(r"100%\|[^|\n]*\| 2/2 \[")  # tqdm's bar for the two steps, finished


def command(out: Path) -> list[str]:
    return [sys.executable, "-m", "fediverse", "generate", "a lighthouse in fog", "--seed", "3",
            "--steps", "2", "--width", "64", "--height", "64", "--out", str(out)]


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    return env | {"FEDIVERSE_DATA_DIR": str(data_dir), "FEDIVERSE_IMAGE_MODEL": "tiny",
                  "FEDIVERSE_DEVICE": "cpu", "TERM": "xterm"}


def read_terminal(master: int, process: subprocess.Popen, timeout: float = 300) -> str:
    """Everything written to the terminal until the process ends (and the slave closes)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=max(1.0, deadline - time.monotonic()))
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_shows_the_progress_bar_then_the_summary(tmp_path):
    out = tmp_path / "bar.png"
    master, slave = pty.openpty()
    # a terminal's size, as a real one has (tqdm draws nothing in 0 columns)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.Popen(command(out), env=environment(tmp_path), cwd=tmp_path,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=slave)
        os.close(slave)
        shown = read_terminal(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, shown
    assert process.stdout is not None and process.stdout.read() == b""
    assert BAR.search(shown), shown
    summary = SUMMARY.search(shown)
    assert summary and summary.group(1) == str(out) and summary.start() > BAR.search(shown).end()
    assert out.stat().st_size > 0


def test_a_pipe_gets_only_the_summary_line(tmp_path):
    out = tmp_path / "quiet.png"
    result = subprocess.run(command(out), env=environment(tmp_path), cwd=tmp_path,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert SUMMARY.fullmatch(result.stderr.rstrip("\n")), result.stderr
    assert result.stderr.count("\n") == 1 and out.stat().st_size > 0
