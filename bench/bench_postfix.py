"""Postfix ``smtp-source`` -> relay -> ``smtp-sink``, against the same path without the relay and
through a bare aiosmtpd -> aiosmtplib proxy, with tracked messages (strip treatment).

Scenarios, run one after another on this machine with the same message file:

- ``direct``: ``smtp-source`` -> ``smtp-sink`` (the ceiling);
- ``bare``:   ``smtp-source`` -> ``bench/bare_proxy.py`` -> ``smtp-sink`` (any Python proxy);
- ``relay``:  ``smtp-source`` -> ``consent-relay serve`` -> ``smtp-sink``, default policy strip,
  no consent on record, SQLite store, delivery journal and audit on: every message is parsed,
  decided, stripped of its pixels and click wrappers, journaled and audited;
- ``relay_permit`` (only with ``--scenarios``): the same relay with ``action = "permit"``, so
  the body is forwarded unchanged: the difference to ``relay`` is the cost of rewriting.

Per scenario and message size: messages per second (``smtp-source -s SESSIONS -m N -d``), the
proxy's peak RSS (VmHWM), and p50/p99 latency of one message on an idle path (sequential
``smtplib``), shown as added to ``direct``. Before timing, one message is sent through the relay
to a dumping ``smtp-sink`` to check that the trackers really were removed. Not a test; prints a
Markdown table for docs/benchmarks-relay.md.

    .venv/bin/python bench/bench_postfix.py [--messages 2000] [--sessions 10]
    .venv/bin/python bench/bench_postfix.py --endurance 100000   # RSS and fds over a long run
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIXEL = "https://t.sidekickopen03.com/e1t/o/5/f18dQhb0S7lC8dDMPbW2n0x6l2B9nMJW7t5XZs8"
WRAPPED = ("https://t.sidekickopen04.com/e1t/c/5/f18dQhb0?t=https%3A%2F%2Fwww.example.com"
           "%2Fpricing&si=5")
HUBSPOT_PIXEL = "https://t.hubspotemail.net/e2t/o/5/f18dQhb0S5ft8"
FROM = "alice@sales.example.com"
TO = "bob@customer.example.org"


def program(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit(f"{name} not found: apt-get install -y postfix")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def tracked_message(size: int) -> bytes:
    """An HTML sales email of about ``size`` bytes: 3 pixels and 10 wrapped links in it."""
    links = "".join(f'<p>Item {i}: <a href="{WRAPPED}&n={i}">see pricing</a></p>\n'
                    for i in range(10))
    head = (f"From: Alice <{FROM}>\nTo: <{TO}>\nSubject: Pricing\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <bench@sales.example.com>\n"
            "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n")
    top = (f'<html><body>\n<img src="{HUBSPOT_PIXEL}" width="1" height="1" alt="">\n'
           f"<p>Hi Bob,</p>\n{links}")
    end = (f'<img src="{PIXEL}" width="1" height="1" alt="">\n'
           f'<img src="{PIXEL}?again=1" width="1" height="1">\n</body></html>\n')
    line = "<p>" + "Our offer in detail, with figures and terms. " * 8 + "</p>\n"
    body = top
    while len(head) + len(body) + len(end) < size:
        body += line
    return (head + body + end).encode()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        wait_port(port)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"{command[0]} did not start:\n{log.read_text()[-2000:]}") from None
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def smtp_sink(port: int, *extra: str) -> list[str]:
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    return [program("smtp-sink"), *user, *extra, f"127.0.0.1:{port}", "1024"]


def relay_config(folder: Path, listen: int, upstream: int, action: str = "strip") -> Path:
    (folder / "policy.toml").write_text(
        f'version = 1\nname = "bench: {action}"\n\n[default]\naction = "{action}"\n')
    config = folder / "config.toml"
    config.write_text(f"""\
[relay]
listen = "127.0.0.1:{listen}"
[upstream]
host = "127.0.0.1"
port = {upstream}
[store]
url = "sqlite+aiosqlite:///{folder}/relay.db"
[policy]
file = "policy.toml"
[web]
enabled = false
listen = "127.0.0.1:{free_port()}"
""")
    return config


def proxy_command(kind: str, folder: Path, listen: int, upstream: int) -> list[str]:
    if kind == "bare":
        return [sys.executable, str(ROOT / "bench" / "bare_proxy.py"),
                "--listen", f"127.0.0.1:{listen}", "--upstream", f"127.0.0.1:{upstream}"]
    action = "permit" if kind == "relay_permit" else "strip"
    binary = Path(sys.executable).parent / "consent-relay"
    config = relay_config(folder, listen, upstream, action)
    return [str(binary), "serve", "--config", str(config)]


_BLASTS = [0]


def blast(port: int, message: Path, count: int, sessions: int) -> float:
    """smtp-source throughput in messages per second.

    Recipients are unique across every call (``-N`` numbers them per call, the domain differs
    per call), so the relay's delivery journal never answers "already delivered" instead of
    forwarding.
    """
    _BLASTS[0] += 1
    rcpt = TO.replace("@", f"@run{_BLASTS[0]}.")
    began = time.monotonic()
    subprocess.run([program("smtp-source"), "-d", "-N", "-s", str(sessions), "-m", str(count),
                    "-f", FROM, "-t", rcpt, "-F", str(message), f"127.0.0.1:{port}"],
                   check=True, timeout=600, capture_output=True)
    return count / (time.monotonic() - began)


def latencies(port: int, data: bytes, count: int) -> list[float]:
    """Seconds per message on an otherwise idle path, one message at a time."""
    out = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("bench.example.test")
        for i in range(count):
            began = time.perf_counter()
            client.sendmail(FROM, [f"{i}lat{TO}"], data)
            out.append(time.perf_counter() - began)
    return out


def check_relay_strips(folder: Path, data: bytes) -> None:
    """One message through the relay to a dumping smtp-sink: no tracker may survive."""
    sink_port, relay_port = free_port(), free_port()
    dump = folder / "dump"
    dump.mkdir()
    if os.geteuid() == 0:
        shutil.chown(dump, "nobody")
    sink = start(smtp_sink(sink_port, "-D", str(dump / "all")), sink_port, folder / "dump.log")
    relay = start(proxy_command("relay", folder, relay_port, sink_port), relay_port,
                  folder / "relay-check.log")
    try:
        with smtplib.SMTP("127.0.0.1", relay_port, timeout=60) as client:
            client.sendmail(FROM, ["check@customer.example.org"], data)
    finally:
        stop(relay)
        stop(sink)
    text = (dump / "all").read_bytes()
    left = [t for t in (PIXEL, WRAPPED, HUBSPOT_PIXEL) if t.encode() in text]
    if left or b"www.example.com/pricing" not in text:
        raise SystemExit(f"the relay did not strip the bench message (left: {left})")


@dataclass
class Result:
    scenario: str
    size: int
    rate: float
    rss_mib: float
    p50_ms: float
    p99_ms: float


def run(kind: str, size: int, message: Path, args: argparse.Namespace, work: Path) -> Result:
    folder = work / f"{kind}-{size}"
    folder.mkdir()
    sink_port = free_port()
    sink = start(smtp_sink(sink_port), sink_port, folder / "sink.log")
    proxy = None
    try:
        port = sink_port
        if kind != "direct":
            port = free_port()
            proxy = start(proxy_command(kind, folder, port, sink_port), port,
                          folder / "proxy.log")
        blast(port, message, min(200, args.messages), args.sessions)  # warm-up
        rate = blast(port, message, args.messages, args.sessions)
        lat = sorted(latencies(port, message.read_bytes().replace(b"\n", b"\r\n"),
                               args.latency_messages))
        rss = peak_rss_mib(proxy.pid) if proxy else float("nan")
    finally:
        if proxy:
            stop(proxy)
        stop(sink)
    return Result(kind, size, rate, rss, statistics.median(lat) * 1000,
                  lat[int(0.99 * (len(lat) - 1))] * 1000)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def endurance(total: int, args: argparse.Namespace) -> None:
    """Relay only, 20 KB tracked messages in chunks; RSS and open fds after each chunk."""
    work = Path(tempfile.mkdtemp(prefix="bench-endurance-"))
    work.chmod(0o755)
    message = work / "message.eml"
    message.write_bytes(tracked_message(20000))
    sink_port, port = free_port(), free_port()
    sink = start(smtp_sink(sink_port), sink_port, work / "sink.log")
    relay = start(proxy_command("relay", work, port, sink_port), port, work / "relay.log")
    chunk = max(1000, total // 20)
    rows: list[tuple[int, float, int, float]] = []
    try:
        sent = 0
        while sent < total:
            rate = blast(port, message, min(chunk, total - sent), args.sessions)
            sent += min(chunk, total - sent)
            fds = len(os.listdir(f"/proc/{relay.pid}/fd"))
            rows.append((sent, rss_mib(relay.pid), fds, rate))
            print(f"# {sent}: rss {rows[-1][1]:.1f} MiB, fds {fds}, {rate:.0f} msgs/s",
                  file=sys.stderr)
    finally:
        stop(relay)
        stop(sink)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nendurance: {total} messages of 20 KB, {args.sessions} sessions\n")
    print("| messages | RSS MiB | open fds | msgs/s |\n|---|---|---|---|")
    for sent, rss, fds, rate in rows:
        print(f"| {sent} | {rss:.1f} | {fds} | {rate:.0f} |")
    warm = rows[min(1, len(rows) - 1)]
    print(f"\nRSS growth after warm-up ({warm[0]} messages): "
          f"{100 * (rows[-1][1] - warm[1]) / warm[1]:+.1f}%, fds {warm[2]} -> {rows[-1][2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--latency-messages", type=int, default=200)
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--scenarios", default="direct,bare,relay")
    parser.add_argument("--endurance", type=int, default=0, metavar="N",
                        help="instead: N messages through the relay, RSS and fds per chunk")
    args = parser.parse_args()
    if args.endurance:
        endurance(args.endurance, args)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-postfix-"))
    work.chmod(0o755)
    results: list[Result] = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            message = work / f"message-{size}.eml"
            message.write_bytes(tracked_message(size))
            if "relay" in args.scenarios:
                (work / f"check-{size}").mkdir()
                check_relay_strips(work / f"check-{size}", message.read_bytes())
            for kind in args.scenarios.split(","):
                results.append(run(kind, size, message, args, work))
                print(f"# {kind} {size}: {results[-1].rate:.0f} msgs/s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, args)


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\n{args.messages} messages, {args.sessions} sessions, {os.cpu_count()} CPUs\n")
    print("| size | path | msgs/s | vs bare | peak RSS MiB | p50 ms (+direct) | p99 ms (+direct) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        base = {x.scenario: x for x in results if x.size == r.size}
        bare = base.get("bare")
        direct = base.get("direct")
        ratio = f"{r.rate / bare.rate:.2f}x" if bare else "-"
        add50 = f" ({r.p50_ms - direct.p50_ms:+.2f})" if direct and r is not direct else ""
        add99 = f" ({r.p99_ms - direct.p99_ms:+.2f})" if direct and r is not direct else ""
        rss = "-" if r.rss_mib != r.rss_mib else f"{r.rss_mib:.0f}"
        print(f"| {r.size // 1000} KB | {r.scenario} | {r.rate:.0f} | {ratio} | {rss} | "
              f"{r.p50_ms:.2f}{add50} | {r.p99_ms:.2f}{add99} |")


if __name__ == "__main__":
    main()
