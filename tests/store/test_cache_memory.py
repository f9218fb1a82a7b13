"""The consent cache's memory follows the live set (rate x TTL), not every address ever seen."""

from __future__ import annotations

from store.cache import SWEEP_FLOOR, ConsentCache
from store.db import Database
from store.ledger import Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_expired_entries_are_swept_as_new_addresses_arrive(db: Database) -> None:
    clock = Clock()
    cache = ConsentCache(Ledger(db, "k"), ttl_seconds=30, clock=clock)
    for batch in range(4):
        addresses = [f"r{batch}-{n}@example.net" for n in range(SWEEP_FLOOR)]
        await cache.lookup_many(addresses)
        clock.now += 60  # everything cached so far has expired
    assert len(cache._entries) <= 2 * SWEEP_FLOOR
    assert cache.misses == 4 * SWEEP_FLOOR
