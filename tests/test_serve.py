"""`fediverse serve` as a newcomer runs it: migrate, serve, answer for an account made by the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.instances import free_port


def test_serve_answers_webfinger_nodeinfo_and_actor(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    env.update(FEDIVERSE_DATA_DIR=str(tmp_path), FEDIVERSE_DOMAIN=f"localhost:{port}")
    fediverse = [sys.executable, "-m", "fediverse"]
    made = subprocess.run([*fediverse, "account", "create", "alice"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    server = subprocess.Popen([*fediverse, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                nodeinfo = httpx.get(base + "/.well-known/nodeinfo", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer in 30 s"
                time.sleep(0.05)
        assert nodeinfo.status_code == 200
        jrd = httpx.get(base + "/.well-known/webfinger",
                        params={"resource": f"acct:alice@localhost:{port}"}).json()
        href = next(link["href"] for link in jrd["links"] if link["rel"] == "self")
        assert href == f"http://localhost:{port}/users/alice"  # localhost: http:// by default
        actor = httpx.get(base + "/users/alice", headers={"Accept": "application/activity+json"}).json()
        assert actor["id"] == href and actor["inbox"] == href + "/inbox"
        instance = httpx.get(base + "/api/v1/instance")  # a client API route, imported lazily
        assert instance.status_code == 200 and instance.json()["uri"] == f"localhost:{port}"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(20)
    assert server.returncode == 0


def test_start_up_path_leaves_the_heavy_modules_for_later():
    """What `serve` imports before it listens: no models, HTTP client, crypto, JSON-LD, images."""
    heavy = ("models.tables", "sqlmodel", "pydantic", "httpx", "cryptography", "pyld", "nh3", "PIL",
             "fediverse.api.accounts", "inbox.receive", "fediverse.workers")
    code = ("import sys, uvicorn, fediverse.app, fediverse.commands, fediverse.state, models.migrate; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
