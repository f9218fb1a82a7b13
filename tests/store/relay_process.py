"""A stand-in relay process for the two-process test: reads commands, answers one line each.

``lookup ADDR`` prints the open_tracking status the cache answers; ``withdraw ADDR`` and
``grant ADDR`` write through this process's ledger. Usage: relay_process.py URL TTL.
"""

from __future__ import annotations

import asyncio
import sys

from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger


async def main(url: str, ttl: float) -> None:
    db = Database(url)
    ledger = Ledger(db, "test-hash-key", "acme")
    cache = ConsentCache(ledger, ttl_seconds=ttl)
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        command, address = line.split()
        if command == "lookup":
            state = await cache.lookup(address)
            print(state.of("open_tracking").status.value, flush=True)
        else:
            state_name = {"grant": "granted", "withdraw": "withdrawn"}[command]
            await ledger.record(address, ["open_tracking"], state_name, method="page")
            print("ok", flush=True)
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
