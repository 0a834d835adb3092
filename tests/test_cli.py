"""The `fediverse` command, run as a user runs it: a real process, real settings, real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["serve", "worker", "migrate", "account", "token", "media", "generate", "report",
            "domain"]


def run(args: list[str], *, data_dir: Path, database_url: str | None = None,
        env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    full_env["FEDIVERSE_DATA_DIR"] = str(data_dir)
    if database_url:
        full_env["FEDIVERSE_DATABASE_URL"] = database_url
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "fediverse", *args], env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_command(tmp_path):
    result = run(["--help"], data_dir=tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["migrate"], ["account", "create"],
                                     ["token", "create"], ["media", "prune"], ["generate"],
                                     ["report", "list"], ["report", "resolve"],
                                     ["domain", "block"], ["domain", "unblock"], ["domain", "list"]])
def test_every_command_answers_help(tmp_path, command):
    result = run([*command, "--help"], data_dir=tmp_path)
    assert result.returncode == 0 and "usage:" in result.stdout


def test_account_and_token(tmp_path, database_url):
    made = run(["account", "create", "alice", "--password-stdin", "--email", "a@example.com"],
               data_dir=tmp_path, database_url=database_url, stdin="correct horse battery\n")
    assert made.returncode == 0, made.stderr
    token = run(["token", "create", "alice", "--scopes", "read write"], data_dir=tmp_path,
                database_url=database_url)
    assert token.returncode == 0, token.stderr
    lines = token.stdout.splitlines()
    assert len(lines) == 1 and len(lines[0]) >= 32  # the token and nothing else

    import asyncio

    from models.db import make_engine, session_factory
    from models.tokens import resolve_token

    async def scopes() -> str:
        engine = make_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                found = await resolve_token(session, lines[0])
                return found.scopes if found else ""
        finally:
            await engine.dispose()

    assert asyncio.run(scopes()) == "read write"


def test_duplicate_account_is_one_clear_line(tmp_path, database_url):
    assert run(["account", "create", "bob"], data_dir=tmp_path, database_url=database_url).returncode == 0
    again = run(["account", "create", "BOB"], data_dir=tmp_path, database_url=database_url)
    assert again.returncode != 0
    assert len(again.stderr.strip().splitlines()) == 1 and "bob" in again.stderr.lower()


@pytest.mark.parametrize("scopes", ["read nonsense", ""])
def test_token_with_bad_scopes_fails(tmp_path, database_url, scopes):
    run(["account", "create", "carol"], data_dir=tmp_path, database_url=database_url)
    result = run(["token", "create", "carol", "--scopes", scopes], data_dir=tmp_path,
                 database_url=database_url)
    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_for_unknown_account_fails(tmp_path):
    result = run(["token", "create", "nobody"], data_dir=tmp_path)
    assert result.returncode == 1 and "nobody" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("env", "flags", "needle"),
    [
        ({"FEDIVERSE_DEVICE": "tpu"}, [], "FEDIVERSE_DEVICE"),
        ({}, ["--device", "gpu0"], "FEDIVERSE_DEVICE"),
        ({"FEDIVERSE_DOMAIN": "Not A Domain"}, [], "FEDIVERSE_DOMAIN"),
        ({"FEDIVERSE_DATABASE_URL": "mysql://x@y/z"}, [], "FEDIVERSE_DATABASE_URL"),
        ({"FEDIVERSE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, [], "FEDIVERSE_DATABASE_URL"),
        ({"FEDIVERSE_ALLOW_PRIVATE_NETWORKS": "maybe"}, [], "FEDIVERSE_ALLOW_PRIVATE_NETWORKS"),
    ],
)
def test_bad_settings_are_one_line_each(tmp_path, env, flags, needle):
    result = run(["migrate", *flags], data_dir=tmp_path, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_several_mistakes_give_several_lines(tmp_path):
    result = run(["migrate"], data_dir=tmp_path,
                 env={"FEDIVERSE_DEVICE": "tpu", "FEDIVERSE_DOMAIN": "Bad Domain"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 2


def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run(["migrate"], data_dir=blocker / "data")
    assert result.returncode != 0
    assert "FEDIVERSE_DATA_DIR" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_flags_override_variables(tmp_path):
    result = run(["migrate", "--device", "cpu"], data_dir=tmp_path, env={"FEDIVERSE_DEVICE": "tpu"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fediverse.db").exists()
