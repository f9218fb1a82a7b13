"""One object wiring database, ledger and cache from ``[store]``: what a process opens once.

The relay, the web pages and the CLI share this wiring so every writer in a process goes
through the same :class:`Ledger`, whose writes invalidate the same :class:`ConsentCache`.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.cache import ConsentCache
from store.config import StoreConfig
from store.db import Database
from store.ledger import Ledger


@dataclass(frozen=True)
class ConsentStore:
    """Database + ledger + RCPT-time cache for one controller."""

    db: Database
    ledger: Ledger
    cache: ConsentCache

    @classmethod
    def from_config(cls, config: StoreConfig) -> ConsentStore:
        db = Database(config.url)
        ledger = Ledger(db, config.hash_key, config.controller, keep_ip=config.record_ip)
        cache = ConsentCache(ledger, config.cache_ttl, timeout=config.lookup_timeout)
        return cls(db, ledger, cache)

    async def close(self) -> None:
        await self.db.dispose()
