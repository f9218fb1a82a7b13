"""Two relay processes on one database: a withdrawal via one reaches the other within the TTL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import Database

SCRIPT = Path(__file__).with_name("relay_process.py")
TTL = 1.0


class Relay:
    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), url, str(TTL)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def relays(db: Database, db_url: str) -> Iterator[tuple[Relay, Relay]]:
    first, second = Relay(db_url), Relay(db_url)
    yield first, second
    first.stop()
    second.stop()


def test_withdrawal_through_one_relay_is_honoured_by_the_other_within_the_ttl(
    relays: tuple[Relay, Relay],
) -> None:
    one, two = relays
    assert one.ask("grant ann@example.com") == "ok"
    assert two.ask("lookup ann@example.com") == "granted"  # now cached in process two
    assert one.ask("withdraw Ann@Example.com") == "ok"
    assert one.ask("lookup ann@example.com") == "withdrawn"  # local write: invalidated at once
    withdrawn_at = time.monotonic()
    deadline = withdrawn_at + TTL + 2
    while two.ask("lookup ann@example.com") != "withdrawn":
        assert time.monotonic() < deadline, "withdrawal not honoured within the TTL"
        time.sleep(0.1)
    assert time.monotonic() - withdrawn_at <= TTL + 0.5
