"""How fast `fediverse serve` answers its first request, and how much memory it idles at.

Targets (issue 2): first request answered within 1 s of starting, idle resident memory under
120 MB with no image model loaded. The baseline, run in the same process of measurement, is a
bare starlette app under uvicorn answering one route: the floor any starlette server pays.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BASELINE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def hello(request):
    return JSONResponse({"links": []})
app = Starlette(routes=[Route("/.well-known/nodeinfo", hello)])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure(cmd: list[str], port: int, env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Seconds until the first 200 from /.well-known/nodeinfo, and RSS (MB) after 3 s idle."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/.well-known/nodeinfo"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                if httpx.get(url, timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.005)
        first = time.perf_counter() - start
        time.sleep(3)
        return first, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "baseline_app.py").write_text(BASELINE_APP)
        env = dict(os.environ)
        env.update(FEDIVERSE_DATA_DIR=str(Path(tmp, "data")), FEDIVERSE_DOMAIN="localhost:8000")
        subprocess.run([sys.executable, "-m", "fediverse", "migrate"], env=env, check=True,
                       stderr=subprocess.DEVNULL)
        results: dict[str, list[tuple[float, float]]] = {"fediverse serve": [], "bare starlette": []}
        for _ in range(args.runs):
            port = free_port()
            results["fediverse serve"].append(measure(
                [sys.executable, "-m", "fediverse", "serve", "--port", str(port)], port, env, tmp))
            port = free_port()
            results["bare starlette"].append(measure(
                [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
                 "--log-level", "warning"], port, env, tmp))
    print(f"{'':18} {'first response (s)':>20} {'idle RSS (MB)':>14}")
    medians = {}
    for name, rows in results.items():
        first = statistics.median(r[0] for r in rows)
        rss = statistics.median(r[1] for r in rows)
        medians[name] = (first, rss)
        print(f"{name:18} {first:20.3f} {rss:14.1f}")
    ours, base = medians["fediverse serve"], medians["bare starlette"]
    print(f"ratio to baseline: start {ours[0] / base[0]:.2f}x, memory {ours[1] / base[1]:.2f}x")
    print(f"targets: start <= 1 s: {'met' if ours[0] <= 1 else 'MISSED'}; "
          f"idle RSS < 120 MB: {'met' if ours[1] < 120 else 'MISSED'}")


if __name__ == "__main__":
    main()
