"""Concurrent RCPT lookups share one store query; an invalidation during a read is honoured."""

from __future__ import annotations

import asyncio

from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger


class CountingLedger(Ledger):
    """The real ledger, counting how many queries reach the store."""

    queries = 0

    async def states(self, recipients):  # type: ignore[no-untyped-def]
        CountingLedger.queries += 1
        await asyncio.sleep(0.01)
        return await super().states(recipients)


async def test_concurrent_lookups_of_many_connections_share_one_query(db: Database) -> None:
    CountingLedger.queries = 0
    cache = ConsentCache(CountingLedger(db, "k"), ttl_seconds=30)
    addresses = [f"r{n}@example.net" for n in range(20)]
    states = await asyncio.gather(*(cache.lookup(a) for a in addresses))
    assert [s.recipient for s in states] == addresses
    assert CountingLedger.queries <= 2


class LateAnsweringLedger(Ledger):
    """Reads the store, then takes a while to hand the (by then stale) answer back."""

    async def states(self, recipients):  # type: ignore[no-untyped-def]
        answer = await super().states(recipients)
        await asyncio.sleep(0.05)
        return answer


async def test_withdrawal_during_a_lookup_is_not_hidden_by_the_cache(db: Database) -> None:
    ledger = LateAnsweringLedger(db, "k")
    cache = ConsentCache(ledger, ttl_seconds=300)
    await ledger.record("ann@example.net", ["open_tracking"], "granted", method="admin")
    lookup = asyncio.create_task(cache.lookup("ann@example.net"))
    await asyncio.sleep(0.02)  # the read has answered "granted" and is on its way back
    await ledger.record("ann@example.net", ["open_tracking"], "withdrawn", method="page")
    assert (await lookup).granted("open_tracking")  # that answer was right when it was read
    assert not (await cache.lookup("ann@example.net")).granted("open_tracking")
