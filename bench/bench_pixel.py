"""Pixel requests per second on one core, consent checked on every request (warm cache).

A real uvicorn serves the real ``/t/`` routes in a child process pinned to one CPU (``taskset``
when available); the parent, pinned elsewhere, is a small raw-socket HTTP/1.1 keep-alive client
with N concurrent connections and a bounded number of requests. Besides wall-clock requests/s
it reports requests per CPU-second of the server process (from ``/proc``): on a shared machine
that is the steadier figure for "one core". Scenarios:

- ``blocked``: consent withdrawn; every answer is the blank GIF (the hot path of issue 6).
- ``redirect``: consent granted, ``mode = "redirect"``; every answer is a 302 to the vendor.
- ``fetch``: consent granted, ``mode = "fetch"``; the relay also requests the vendor's pixel (a
  tiny asyncio server in a third process), after answering.
- ``baseline``: a Starlette route that returns the same GIF and does nothing else: what uvicorn
  and Starlette alone manage on this machine, so the cost of the consent check is the gap.

Counting (``measurement = "counts"``) is on in every scenario: hits go to memory and are written
every 5 s. Results go to stdout as a Markdown table row per scenario.

    .venv/bin/python bench/bench_pixel.py [--requests 40000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPIENTS = 200
KEYS = ["bench-key"]


async def serve(port: int, db_path: str, mode: str, grant: bool, vendor_port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette

    from rewriters.treatment import Purpose
    from store.cache import ConsentCache
    from store.db import Database
    from store.ledger import Ledger
    from web.routing import RouteSigner
    from web.tracking import TrackingServices, tracking_routes
    from web.tracking_config import TrackingConfig

    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.upgrade("heads")
    ledger = Ledger(db, "bench-hash")
    addresses = [f"r{i}@example.org" for i in range(RECIPIENTS)]
    state = "granted" if grant else "withdrawn"
    for address in addresses:
        await ledger.record(address, ["open_tracking", "click_tracking"], state, method="admin")
    cache = ConsentCache(ledger, ttl_seconds=3600)
    await cache.lookup_many(addresses)  # warm
    signer = RouteSigner(KEYS, f"http://127.0.0.1:{port}")
    config = TrackingConfig.model_validate(
        {"mode": "fetch" if mode == "fetch" else "redirect", "fetch_private_addresses": True}
    )
    services = TrackingServices.create(signer, cache, db, config)
    pixel = f"http://127.0.0.1:{vendor_port}/CI0/0100018c1a2b3c4d/AbC=12"
    paths = [
        signer.route_url_for(a, "bench-trace")(pixel, Purpose.OPEN_TRACKING).split(str(port), 1)[1]
        for a in addresses
    ]
    Path(db_path + ".paths").write_text("\n".join(paths))
    await services.start()
    app = Starlette(routes=tracking_routes(services))
    if mode == "baseline":
        from starlette.responses import Response
        from starlette.routing import Route

        from web.tracking import GIF

        async def constant(request: object) -> Response:
            return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})

        app = Starlette(routes=[Route("/t/{token}", constant)])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    await server.serve()
    await services.close()
    await db.dispose()


async def vendor(port: int) -> None:
    """Answers every request with a tiny 200, as fast as asyncio allows."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def worker(port: int, paths: list[str], count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(count):
        request = (
            f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Thunderbird/128.0\r\n\r\n"
        )
        began = time.perf_counter()
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - began)
    writer.close()


async def load(port: int, paths: list[str], requests: int, connections: int) -> list[float]:
    latencies: list[float] = []
    share = requests // connections
    await asyncio.gather(*(worker(port, paths, share, latencies) for _ in range(connections)))
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``); 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpu: int, argv: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_paths(path: Path, server: subprocess.Popen[bytes]) -> list[str]:
    for _ in range(300):  # at most 30 s
        if path.exists() and server.poll() is None:
            time.sleep(0.3)
            return path.read_text().splitlines()
        if server.poll() is not None:
            raise SystemExit("server died during start-up")
        time.sleep(0.1)
    raise SystemExit("server did not start")


def run(scenario: str, requests: int, connections: int) -> str:
    mode = scenario if scenario in ("fetch", "baseline") else "redirect"
    grant = scenario != "blocked"
    port, vendor_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = f"{tmp}/bench.db"
        me = [sys.executable, __file__]
        args = ["--serve", str(port), db_path, mode, str(int(grant)), str(vendor_port)]
        side = subprocess.Popen(pinned(1, [*me, "--vendor", str(vendor_port)]))
        server = subprocess.Popen(pinned(0, [*me, *args]))
        try:
            paths = wait_for_paths(Path(db_path + ".paths"), server)
            if shutil.which("taskset"):
                subprocess.run(["taskset", "-pc", "1", str(os.getpid())], capture_output=True)
            asyncio.run(load(port, paths, min(2000, requests), connections))  # warm-up
            began, cpu_began = time.perf_counter(), cpu_seconds(server.pid)
            latencies = asyncio.run(load(port, paths, requests, connections))
            elapsed = time.perf_counter() - began
            cpu = cpu_seconds(server.pid) - cpu_began
        finally:
            for child in (server, side):
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(10)
    rate = len(latencies) / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = sorted(latencies)[int(len(latencies) * 0.99)] * 1000
    per_cpu = f"{len(latencies) / cpu:,.0f}" if cpu > 0 else "n/a"
    cells = [scenario, str(len(latencies)), str(connections), f"{rate:,.0f}", per_cpu]
    return "| " + " | ".join([*cells, f"{p50:.1f}", f"{p99:.1f}"]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--scenarios", default="baseline,blocked,redirect,fetch")
    parser.add_argument("--serve", nargs=5, metavar=("PORT", "DB", "MODE", "GRANT", "VENDOR"))
    parser.add_argument("--vendor", type=int)
    args = parser.parse_args()
    if args.serve:
        port, db_path, mode, grant, vendor_port = args.serve
        asyncio.run(serve(int(port), db_path, mode, grant == "1", int(vendor_port)))
        return
    if args.vendor:
        asyncio.run(vendor(args.vendor))
        return
    print("| scenario | requests | connections | requests/s (wall) | requests per server CPU-s |"
          " p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenarios.split(","):
        print(run(scenario, args.requests, args.connections), flush=True)


if __name__ == "__main__":
    main()
