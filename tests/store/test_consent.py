"""The per-process wiring: writes through its ledger invalidate its own cache."""

from __future__ import annotations

from store.config import StoreConfig
from store.consent import ConsentStore
from store.db import Database


async def test_store_from_config_shares_one_ledger_with_its_cache(
    db: Database, db_url: str
) -> None:
    """``db`` gives an empty, migrated database on the parametrised backend."""
    store = ConsentStore.from_config(StoreConfig(url=db_url, cache_ttl=3600, record_ip=True))
    try:
        await store.db.upgrade()
        await store.ledger.record(
            "a@example.com", ["open_tracking"], "granted", method="page", ip="192.0.2.7"
        )
        assert (await store.cache.lookup("a@example.com")).granted("open_tracking")
        await store.ledger.record("a@example.com", ["open_tracking"], "withdrawn", method="page")
        assert not (await store.cache.lookup("a@example.com")).granted("open_tracking")
        assert (await store.ledger.history("a@example.com"))[0].ip == "192.0.2.7"
    finally:
        await store.close()
