"""Relay throughput and latency against a bare pass-through proxy and the sink itself.

Runs, in one go and on this machine:

- ``direct``: Postfix ``smtp-source`` -> ``smtp-sink``;
- ``bare``: ``smtp-source`` -> ``bench/bare_proxy.py`` (stock aiosmtpd -> aiosmtplib) -> sink;
- ``relay``: ``smtp-source`` -> ``consent-relay serve`` (permit policy, unchanged body,
  SQLite store, delivery journal on) -> sink.

For each, with 20 KB and 200 KB messages and 20 concurrent sessions: messages per second
(``smtp-source`` timing), p50/p99 latency of the final reply (a Python client with 20
concurrent connections), and the proxy's peak RSS. Not a test: prints a Markdown table.

    .venv/bin/python bench/bench_relay.py [--messages 2000]
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

from bench_postfix import free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 20


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_relay(workdir: Path, listen: int, sink: int) -> subprocess.Popen[bytes]:
    (workdir / "policy.toml").write_text('version = 1\n[default]\naction = "permit"\n')
    (workdir / "config.toml").write_text(
        f'[relay]\nlisten = "127.0.0.1:{listen}"\n'
        f'[upstream]\nhost = "127.0.0.1"\nport = {sink}\n'
        f'[store]\nurl = "sqlite+aiosqlite:///{workdir}/store.db"\n'
        f'[policy]\nfile = "policy.toml"\n[web]\nenabled = false\n'
    )
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--config", str(workdir / "config.toml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def start_bare(listen: int, sink: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bare_proxy.py"),
         "--listen", f"127.0.0.1:{listen}", "--upstream", f"127.0.0.1:{sink}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def throughput(port: int, size: int, messages: int) -> float:
    started = time.monotonic()
    subprocess.run(
        ["smtp-source", "-s", str(CONCURRENCY), "-l", str(size), "-m", str(messages),
         "-f", "bench@example.org", "-t", "rcpt@example.net", f"127.0.0.1:{port}"],
        check=True, timeout=600,
    )
    return messages / (time.monotonic() - started)


async def _one_client(port: int, body: bytes, count: int, out: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()
    writer.write(b"EHLO bench.example.org\r\n")
    while (await reader.readline())[3:4] != b" ":
        pass
    for _ in range(count):
        started = time.perf_counter()
        writer.write(b"MAIL FROM:<bench@example.org>\r\nRCPT TO:<rcpt@example.net>\r\nDATA\r\n")
        for _ in range(3):
            await reader.readline()
        writer.write(body + b".\r\n")
        reply = await reader.readline()
        if not reply.startswith(b"250"):
            raise RuntimeError(reply.decode(errors="replace"))
        out.append(time.perf_counter() - started)
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


def latency(port: int, size: int, messages: int) -> tuple[float, float]:
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: bench\r\n\r\n" + line * max(1, size // len(line))
    samples: list[float] = []
    per_client = max(1, messages // CONCURRENCY)

    async def run() -> None:
        await asyncio.gather(*(_one_client(port, body, per_client, samples)
                               for _ in range(CONCURRENCY)))

    asyncio.run(run())
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.99) - 1] * 1000


def measure(name: str, port: int, pid: int | None, size: int, messages: int) -> dict[str, str]:
    rate = throughput(port, size, messages)
    p50, p99 = latency(port, size, messages // 2)
    rss = f"{peak_rss_mb(pid):.0f}" if pid else "-"
    return {"target": name, "size": f"{size // 1000} KB", "msgs/s": f"{rate:.0f}",
            "p50 ms": f"{p50:.1f}", "p99 ms": f"{p99:.1f}", "peak RSS MB": rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    if not shutil.which("smtp-source"):
        sys.exit("smtp-source/smtp-sink not found: apt-get install postfix")
    sink_port, bare_port, relay_port = free_port(), free_port(), free_port()
    user = ["-u", "postfix"] if os.geteuid() == 0 else []
    sink = subprocess.Popen(["smtp-sink", *user, f"127.0.0.1:{sink_port}", "1000"])
    workdir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    bare = start_bare(bare_port, sink_port)
    relay = start_relay(workdir, relay_port, sink_port)
    rows = []
    try:
        for port in (sink_port, bare_port, relay_port):
            wait_port(port)
        for size in (20_000, 200_000):
            messages = args.messages if size == 20_000 else args.messages // 4
            rows.append(measure("direct to sink", sink_port, None, size, messages))
            rows.append(measure("bare proxy", bare_port, bare.pid, size, messages))
            rows.append(measure("consent-relay", relay_port, relay.pid, size, messages))
    finally:
        for process in (relay, bare, sink):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"CPU cores: {os.cpu_count()}; {CONCURRENCY} concurrent sessions\n")
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + " --- |" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main()
