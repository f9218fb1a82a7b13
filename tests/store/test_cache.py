"""RCPT-time lookups: cached for the TTL, invalidated by local writes, failing closed."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger

OPEN = "open_tracking"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cached_answer_is_served_until_the_ttl_passes(db: Database) -> None:
    clock = Clock()
    writer = Ledger(db, "k")
    cache = ConsentCache(Ledger(db, "k"), ttl_seconds=30, clock=clock)
    await writer.record("a@example.com", [OPEN], "granted", method="page")
    assert (await cache.lookup("a@example.com")).granted(OPEN)
    await writer.record("a@example.com", [OPEN], "withdrawn", method="page")  # another writer
    clock.now += 29
    assert (await cache.lookup("a@example.com")).granted(OPEN)  # stale within the TTL
    clock.now += 2
    assert not (await cache.lookup("a@example.com")).granted(OPEN)
    assert cache.hits == 1 and cache.misses == 2


async def test_local_write_invalidates_at_once(db: Database) -> None:
    ledger = Ledger(db, "k")
    cache = ConsentCache(ledger, ttl_seconds=3600)
    await ledger.record("a@example.com", [OPEN], "granted", method="page")
    assert (await cache.lookup("A@example.com")).granted(OPEN)
    await ledger.record("a@EXAMPLE.com", [OPEN], "withdrawn", method="page")
    assert not (await cache.lookup("a@example.com")).granted(OPEN)
    await ledger.erase("a@example.com")
    assert (await cache.lookup("a@example.com")).suppressed


async def test_lookup_many_fetches_only_what_is_not_cached(db: Database) -> None:
    ledger = Ledger(db, "k")
    cache = ConsentCache(ledger, ttl_seconds=60)
    await ledger.record("a@example.com", [OPEN], "granted", method="page")
    await cache.lookup("a@example.com")
    states = await cache.lookup_many(["a@example.com", "B@example.com"])
    assert list(states) == ["a@example.com", "b@example.com"]
    assert states["a@example.com"].granted(OPEN) and not states["b@example.com"].granted(OPEN)
    assert (cache.hits, cache.misses) == (1, 2)


async def test_zero_ttl_always_asks_the_store(db: Database) -> None:
    cache = ConsentCache(Ledger(db, "k"), ttl_seconds=0)
    await cache.lookup("a@example.com")
    await cache.lookup("a@example.com")
    assert cache.misses == 2


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a hung database."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def unreachable_urls(tmp_path: Path, port: int) -> list[str]:
    return [
        f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'consent.db'}",
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test",
    ]


async def test_unreachable_store_fails_closed_and_is_counted(
    tmp_path: Path, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    for url in unreachable_urls(tmp_path, closed_port):
        db = Database(url)
        errors: list[BaseException] = []
        cache = ConsentCache(Ledger(db, "k"), ttl_seconds=60)
        cache.on_store_error = errors.append
        with caplog.at_level(logging.WARNING, logger="consent_relay.store"):
            state = await cache.lookup("a@example.com")
            again = await cache.lookup("a@example.com")  # failures are not cached: retried
        assert not state.reachable and not state.granted(OPEN) and not again.reachable
        assert cache.store_errors == 2 and len(errors) == 2
        assert "consent_store_unreachable" in caplog.messages
        caplog.clear()
        await db.dispose()


async def test_hung_store_is_bounded_by_the_timeout(silent_server: int) -> None:
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server}/test")
    cache = ConsentCache(Ledger(db, "k"), timeout=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    state = await cache.lookup("a@example.com")
    assert loop.time() - started < 2
    assert not state.reachable and cache.store_errors == 1
    await db.dispose()


async def test_cached_grant_expires_on_time_even_inside_the_ttl(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    ledger = Ledger(db, "k")
    cache = ConsentCache(ledger, ttl_seconds=3600)
    soon = datetime.now(UTC) + timedelta(seconds=0.3)
    await ledger.record("a@example.com", [OPEN], "granted", method="page", expires_at=soon)
    assert (await cache.lookup("a@example.com")).granted(OPEN)
    await asyncio.sleep(0.4)
    assert not (await cache.lookup("a@example.com")).granted(OPEN)
