"""The relay under test as a real subprocess: ``consent-relay serve --config FILE``.

Started, SIGKILLed and restarted like an operator (or the OOM killer) would.
:func:`bare_proxy_command` starts the bare pass-through proxy from ``bench/`` instead, for
comparing the relay with a proxy that has no policy at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from postfix import PostfixInstance, Topology, free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]


def relay_executable() -> str:
    """The console script installed next to the running interpreter (the project venv)."""
    candidate = Path(sys.executable).parent / "consent-relay"
    return str(candidate) if candidate.exists() else "consent-relay"


def relay_command(config: Path) -> list[str]:
    return [relay_executable(), "serve", "--config", str(config)]


def consent_command(config: Path, *args: str) -> list[str]:
    return [relay_executable(), "consent", *args, "--config", str(config)]


def grant(relay: RelayProcess, address: str, purposes: str) -> None:
    """Record consent through the relay's own CLI, on the relay's own store."""
    config = Path(relay.command[relay.command.index("--config") + 1])
    done = subprocess.run(consent_command(config, "grant", address, "--purpose", purposes),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def bare_proxy_command(listen_port: int, upstream_port: int) -> list[str]:
    return [sys.executable, str(REPO / "bench" / "bare_proxy.py"),
            "--listen", f"127.0.0.1:{listen_port}", "--upstream", f"127.0.0.1:{upstream_port}"]


class RelayProcess:
    """A listening subprocess on 127.0.0.1:``port``; output goes to ``log``."""

    def __init__(self, command: Sequence[str], port: int, log: Path) -> None:
        self.command = list(command)
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 30) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        out = self.log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.log.parent)
        out.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"relay exited with {self.proc.returncode}:\n{self.tail()}")
            if wait_for_port(self.port, 0.2):
                return
        self.kill()
        raise RuntimeError(f"relay did not listen on {self.port} in {timeout}s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown grace, connections cut mid-transaction."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, grace: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


POLICY = """\
version = 1
name = "e2e: strip by default, keep what the recipient granted"

[default]
action = "strip"

[[rules]]
id = "granted-all"
consent = "all_granted"
action = "permit"

[[rules]]
id = "granted-some"
consent = "any_granted"
action = "permit"
"""


def write_relay_config(
    folder: Path, listen_port: int, upstream_port: int, policy: str = POLICY,
    upstream_extra: str = "", dkim: str = 'mode = "next_hop"',
) -> Path:
    """config.toml + policy.toml + a fresh SQLite store in ``folder``; returns the config path.

    ``upstream_extra`` adds lines to ``[upstream]`` (e.g. ``profile = "mailgun"``), ``dkim``
    replaces the body of ``[dkim]``.
    """
    (folder / "policy.toml").write_text(policy)
    config = folder / "config.toml"
    config.write_text(f"""\
[relay]
listen = "127.0.0.1:{listen_port}"
shutdown_grace = 5

[upstream]
host = "127.0.0.1"
port = {upstream_port}
timeout = 30
{upstream_extra}

[store]
url = "sqlite+aiosqlite:///{folder}/relay.db"
cache_ttl = 0

[policy]
file = "policy.toml"

[web]
enabled = false
listen = "127.0.0.1:{free_port()}"

[dkim]
{dkim}
""")
    return config


RelayFactory = Callable[..., RelayProcess]


@contextlib.contextmanager
def started_relays(relay_port: int, tmp_path: Path) -> Iterator[RelayFactory]:
    """``make(upstream_port, policy=POLICY)`` starts the relay on ``relay_port``; every relay
    started is stopped on exit (the Postfix and Exim fixtures share this)."""
    started: list[RelayProcess] = []

    def make(upstream_port: int, policy: str = POLICY) -> RelayProcess:
        folder = tmp_path / f"relay{len(started)}"
        folder.mkdir()
        config = write_relay_config(folder, relay_port, upstream_port, policy)
        process = RelayProcess(relay_command(config), relay_port, folder / "relay.log")
        process.start()
        started.append(process)
        return process

    try:
        yield make
    finally:
        for process in started:
            process.stop()


@pytest.fixture(name="relay_factory")
def relay_factory_fixture(
    topology: Topology, postfix: PostfixInstance, tmp_path: Path
) -> Iterator[RelayFactory]:
    """``make(upstream_port, policy=POLICY)`` starts the relay on ``topology.relay_port``."""
    with started_relays(topology.relay_port, tmp_path) as make:
        yield make
