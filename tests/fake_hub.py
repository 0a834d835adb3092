"""A fake Hugging Face hub on loopback, for loading tests: a real HTTP server answering what
huggingface_hub and diffusers ask of the hub (model info, the file tree, HEAD and GET of
`<repo>/resolve/<revision>/<file>` with ETag, X-Repo-Commit and ranges), for repos held in
memory. It can be slow (bytes per second) and can cut a file short, and it records every
request. Point a process at it with HF_ENDPOINT (read when huggingface_hub is imported)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 16 * 1024
LFS_SUFFIXES = (".safetensors", ".bin")  # stored in LFS on the real hub: ETag is the sha256


@dataclass(frozen=True)
class HubFile:
    path: str
    data: bytes

    @property
    def lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES)

    @property
    def blob_id(self) -> str:  # git's blob id
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.blob_id


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    sha: str = ""

    def __post_init__(self) -> None:
        if not self.sha:
            digest = hashlib.sha1()
            for name in sorted(self.files):
                digest.update(name.encode() + self.files[name].data)
            self.sha = digest.hexdigest()

    def info(self) -> dict[str, object]:
        siblings = []
        for hub_file in self.files.values():
            sibling: dict[str, object] = {"rfilename": hub_file.path,
                                          "size": len(hub_file.data),
                                          "blobId": hub_file.blob_id}
            if hub_file.lfs:
                sibling["lfs"] = {"size": len(hub_file.data), "sha256": hub_file.sha256,
                                  "pointerSize": 134}
            siblings.append(sibling)
        return {"_id": self.sha[:24], "id": self.repo_id, "modelId": self.repo_id,
                "sha": self.sha, "private": False, "gated": False, "disabled": False,
                "library_name": "diffusers", "pipeline_tag": "text-to-image",
                "tags": ["diffusers", "text-to-image"], "downloads": 0, "likes": 0,
                "lastModified": "2024-06-01T00:00:00.000Z", "siblings": siblings}

    def tree(self) -> list[dict[str, object]]:
        entries: list[dict[str, object]] = []
        folders = sorted({name.rsplit("/", 1)[0] for name in self.files if "/" in name})
        for folder in folders:
            entries.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(),
                            "size": 0, "path": folder})
        for hub_file in self.files.values():
            entry: dict[str, object] = {"type": "file", "oid": hub_file.blob_id,
                                        "size": len(hub_file.data), "path": hub_file.path}
            if hub_file.lfs:
                entry["lfs"] = {"oid": hub_file.sha256, "size": len(hub_file.data),
                                "pointerSize": 134}
            entries.append(entry)
        return entries


def repo_from_folder(repo_id: str, folder: Path) -> HubRepo:
    """A repo holding every file under `folder` (as saved by save_pretrained)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            files[name] = HubFile(name, path.read_bytes())
    return HubRepo(repo_id, files)


@dataclass
class FakeHub:
    """The hub's state: its repos, how fast it sends (each response), which files it cuts
    short (path -> the byte offset no response goes past), how it answers for a repo it does
    not have (the real hub: 401 to a client without a token, whether the repo is private or
    absent), and the requests seen as (method, path)."""

    repos: dict[str, HubRepo] = field(default_factory=dict)
    bytes_per_second: float | None = None
    cut: dict[str, int] = field(default_factory=dict)
    missing_status: int = 401  # for an unknown repo: 401 without a token, 404 with one
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def downloads(self) -> list[str]:
        """The paths of the GETs of files (not of the API)."""
        with self._lock:
            return [path for method, path in self.requests
                    if method == "GET" and "/resolve/" in path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        hub = self.server.hub
        path = unquote(urlsplit(self.path).path)
        hub.seen(self.command, path)
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            self._api(hub, "/".join(parts[2:4]), parts[4:])
        elif len(parts) >= 5 and parts[2] == "resolve":
            self._file(hub, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), head=head)
        else:
            self._error(404, "EntryNotFound", "Not found")

    def _api(self, hub: FakeHub, repo_id: str, rest: list[str]) -> None:
        repo = hub.repos.get(repo_id)
        if repo is None:
            self._missing_repo()
        elif not rest:
            self._json(repo.info())
        elif rest[0] == "revision" and len(rest) == 2:
            if rest[1] not in ("main", repo.sha):
                self._error(404, "RevisionNotFound", "Invalid rev id")
            else:
                self._json(repo.info())
        elif rest[0] == "tree" and len(rest) >= 2:
            self._json(repo.tree())
        else:
            self._error(404, "EntryNotFound", "Not found")

    def _file(self, hub: FakeHub, repo_id: str, revision: str, name: str, *,
              head: bool) -> None:
        repo = hub.repos.get(repo_id)
        if repo is None:
            self._missing_repo()
            return
        if revision not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return
        hub_file = repo.files.get(name)
        if hub_file is None:
            self._error(404, "EntryNotFound", "Entry not found")
            return
        data, start, status = hub_file.data, 0, 200
        wanted = self.headers.get("Range", "")
        if not head and wanted.startswith("bytes=") and wanted.endswith("-"):
            start, status = int(wanted[len("bytes="):-1]), 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", f'"{hub_file.etag}"')
        self.send_header("X-Repo-Commit", repo.sha)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if not head:
            self._send(hub, data, start, hub.cut.get(name))

    def _send(self, hub: FakeHub, data: bytes, start: int, cut: int | None) -> None:
        """The body from `start`, throttled; up to `cut` only, then the connection closed."""
        end = len(data) if cut is None else min(cut, len(data))
        for offset in range(start, end, CHUNK):
            chunk = data[offset:min(offset + CHUNK, end)]
            self.wfile.write(chunk)
            self.wfile.flush()
            if hub.bytes_per_second:
                time.sleep(len(chunk) / hub.bytes_per_second)
        if end < len(data):
            self.close_connection = True

    def _missing_repo(self) -> None:
        self._error(self.server.hub.missing_status, "RepoNotFound", "Repository not found")

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: FakeHub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hub = hub


@contextmanager
def serving(hub: FakeHub) -> Iterator[FakeHub]:
    """Serve `hub` on a loopback port (its `url` set) until the block ends."""
    server = _Server(hub)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def save_tiny_model(folder: Path) -> Path:
    """The built-in `tiny` pipeline saved as a diffusers model folder (safetensors)."""
    from fediverse.imaging.tiny import build_pipeline

    build_pipeline().save_pretrained(folder)
    return folder
