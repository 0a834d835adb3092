"""How fast `fediverse serve` answers its first request, and how much memory it idles at.

Targets (issue 2): first request answered within 1 s of starting, idle resident memory under
120 MB with no image model loaded. The baseline, run in the same process of measurement, is a
bare starlette app under uvicorn answering one route: the floor any starlette server pays.

Also shown: the CPU seconds the server had used by its first answer (steadier than wall time
on a busy machine), and for `fediverse serve` how long until a WebFinger look-up and a client
API call (`/api/v1/instance`) have answered too: every route but NodeInfo links and host-meta
is imported in a thread once the server listens, and a request for one waits for that.
Bytecode caches are written by the set-up run (as on any start but the first).

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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(cmd: list[str], port: int, env: dict[str, str], cwd: str,
            then: list[str]) -> tuple[float, float, float, float]:
    """Seconds until the first 200 from /.well-known/nodeinfo, CPU seconds used by then,
    seconds until each path of `then` answered 200 as well, and RSS (MB) after 3 s idle."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                if httpx.get(base + "/.well-known/nodeinfo", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.005)
        first = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid)
        for path in then:
            answer = httpx.get(base + path, timeout=30)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
        ready = time.perf_counter() - start
        time.sleep(3)
        return first, cpu, ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load_before = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "baseline_app.py").write_text(BASELINE_APP)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(FEDIVERSE_DATA_DIR=str(Path(tmp, "data")), FEDIVERSE_DOMAIN="localhost:8000")
        subprocess.run([sys.executable, "-m", "fediverse", "account", "create", "alice"], env=env,
                       check=True, stderr=subprocess.DEVNULL)  # migrates, writes bytecode caches
        then = ["/.well-known/webfinger?resource=acct:alice@localhost:8000", "/api/v1/instance"]
        results: dict[str, list[tuple[float, float, float, float]]] = {
            "fediverse serve": [], "bare starlette": []}
        for _ in range(args.runs):
            port = free_port()
            results["fediverse serve"].append(measure(
                [sys.executable, "-m", "fediverse", "serve", "--port", str(port)], port, env, tmp,
                then))
            port = free_port()
            results["bare starlette"].append(measure(
                [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
                 "--log-level", "warning"], port, env, tmp, []))
    print(f"load average before: {load_before}, after: {os.getloadavg()[0]:.2f}")
    print(f"{'':18} {'first response (s)':>20} {'CPU by then (s)':>16} {'all warm (s)':>13} "
          f"{'idle RSS (MB)':>14}")
    medians = {}
    for name, rows in results.items():
        first, cpu, ready, rss = (statistics.median(r[i] for r in rows) for i in range(4))
        medians[name] = (first, cpu, rss)
        print(f"{name:18} {first:20.3f} {cpu:16.2f} {ready:13.3f} {rss:14.1f}")
    ours, base = medians["fediverse serve"], medians["bare starlette"]
    print(f"ratio to baseline: start {ours[0] / base[0]:.2f}x, CPU {ours[1] / base[1]:.2f}x, "
          f"memory {ours[2] / base[2]:.2f}x")
    print(f"targets: start <= 1 s: {'met' if ours[0] <= 1 else 'MISSED'}; "
          f"idle RSS < 120 MB: {'met' if ours[2] < 120 else 'MISSED'}")


if __name__ == "__main__":
    main()
