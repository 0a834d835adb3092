"""What the client-library end-to-end tests share: a person signing in through the real
sign-in page, an image file, Mastodon.py made and called off the event loop, and the
`toot` command run in a subprocess with a configuration directory of its own.

The servers run in the test's event loop and Mastodon.py is synchronous, so its calls go
through `asyncio.to_thread`; toot runs as a child process.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx
from mastodon import Mastodon, StreamListener
from PIL import Image

T = TypeVar("T")
PASSWORD = "correct horse battery"
OOB = "urn:ietf:wg:oauth:2.0:oob"
TOOT = [sys.executable, "-m", "toot"]

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
_CODE = re.compile(r'<code id="authorization-code">([^<]+)</code>')


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A synchronous client call, run on a thread so the servers in this loop can answer."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def browser_code(authorize_url: str, username: str, password: str = PASSWORD) -> str:
    """What a person does in the browser: open the sign-in page, post its form (with the CSRF
    token it carries), and read the code off the out-of-band page."""
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert "authenticity_token" in page.text
        action = _ACTION.search(page.text)
        assert action is not None
        form = dict(_HIDDEN.findall(page.text)) | {
            "username": username, "password": password, "decision": "approve"}
        posted = await browser.post(urljoin(str(page.url), action.group(1)), data=form)
        assert posted.status_code == 302, posted.text
        shown = await browser.get(urljoin(str(page.url), posted.headers["location"]))
    assert shown.status_code == 200, shown.text
    found = _CODE.search(shown.text)
    assert found is not None, shown.text
    return found.group(1)


def png_file(directory: Path, name: str = "red.png") -> Path:
    path = directory / name
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def mastodon_py_login(base: str, username: str) -> Mastodon:
    """Register an app with Mastodon.py, sign in through the page, exchange the code."""
    client_id, secret = await call(Mastodon.create_app, "e2e", api_base_url=base,
                                   scopes=["read", "write", "follow", "push"])
    api = await call(Mastodon, client_id=client_id, client_secret=secret, api_base_url=base,
                     version_check_mode="created")
    url = await call(api.auth_request_url, redirect_uris=OOB,
                     scopes=["read", "write", "follow", "push"], allow_http=True)
    assert url.startswith(base + "/oauth/authorize?")
    code = await browser_code(url, username)
    await call(api.log_in, code=code, redirect_uri=OOB,
               scopes=["read", "write", "follow", "push"], allow_http=True)
    return api


async def mastodon_py_with_token(base: str, token: str) -> Mastodon:
    return await call(Mastodon, access_token=token, api_base_url=base,
                      version_check_mode="created")


class UserStream(StreamListener):
    """Mastodon.py's server-sent-events connection to the `user` stream, and what came."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[Any] = []
        self.notifications: list[Any] = []
        self.opened = threading.Event()
        self.handle: Any = None

    def on_update(self, status: Any) -> None:
        self.updates.append(status)

    def on_notification(self, notification: Any) -> None:
        self.notifications.append(notification)

    def handle_heartbeat(self) -> None:
        self.opened.set()  # the server's first comment: it has subscribed us

    async def open(self, api: Mastodon) -> None:
        self.handle = await call(api.stream_user, self, run_async=True)
        assert await call(self.opened.wait, 10), "the user stream did not open"

    async def close(self) -> None:
        """Stop listening. Off the loop: closing waits for the reader thread, which waits for
        the server's next heartbeat."""
        if self.handle is not None:
            await call(self.handle.close)


class Toot:
    """The `toot` command line, with its own configuration directory."""

    def __init__(self, config_home: Path) -> None:
        self.env = os.environ | {"XDG_CONFIG_HOME": str(config_home), "TERM": "dumb",
                                 "NO_COLOR": "1", "COLUMNS": "200"}

    async def run(self, *args: str, check: bool = True) -> str:
        """Run `toot ARGS`: its standard output when it must succeed (`check`), else its
        standard output and error together, and it must fail."""
        proc = await asyncio.create_subprocess_exec(
            *TOOT, *args, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        text = f"{out.decode()}\n{err.decode()}"
        assert (proc.returncode == 0) is check, f"toot {args} exited {proc.returncode}: {text}"
        return out.decode() if check else text

    async def login(self, base: str, username: str) -> str:
        """`toot login`: the browser flow; it prints the URL, we sign in and type the code."""
        proc = await asyncio.create_subprocess_exec(
            *TOOT, "login", "--instance", base, env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        url = await asyncio.wait_for(_url_line(proc.stdout, base), 30)
        proc.stdin.write(b"n\n")  # "Open link in default browser?"
        code = await browser_code(url, username)
        out, err = await asyncio.wait_for(proc.communicate(f"{code}\n".encode()), 30)
        assert proc.returncode == 0, f"toot login failed: {out.decode()}\n{err.decode()}"
        return url


async def _url_line(stream: asyncio.StreamReader, base: str) -> str:
    while line := (await stream.readline()).decode():
        if line.startswith(base):
            return line.strip()
    raise AssertionError("toot login printed no sign-in URL")
