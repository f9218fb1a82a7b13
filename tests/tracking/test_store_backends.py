"""The measurement store behaves the same on SQLite and PostgreSQL (upserts differ by dialect).

PostgreSQL runs when CONSENT_RELAY_TEST_PG is set (a server URL; a throwaway database is created
and dropped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from scratch_pg import scratch_database_async

from store.db import Database
from store.tracking import TrackingBuffer, TrackingStore

ANN = "ann@example.org"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tracking.db'}")
        await database.upgrade("heads")
        yield database
        await database.dispose()
        return
    async with scratch_database_async("cr_tracking") as url:
        database = Database(url)
        yield database
        await database.dispose()


async def test_counts_add_up_across_flushes(backend: Database) -> None:
    buffer = TrackingBuffer(TrackingStore(backend))
    day = date(2026, 11, 29)
    for _ in range(3):
        buffer.count(day, "m", "open_tracking", "person")
        await buffer.flush()
    assert [c.hits for c in await buffer.store.counts("m")] == [3]


async def test_last_open_only_moves_forward(backend: Database) -> None:
    buffer = TrackingBuffer(TrackingStore(backend))
    for day in (date(2026, 11, 2), date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 3)):
        buffer.last_open(ANN, day)
        await buffer.flush()
    assert await buffer.store.last_open(ANN) == date(2026, 11, 5)


async def test_events_export_erase_and_purge(backend: Database) -> None:
    store = TrackingStore(backend)
    buffer = TrackingBuffer(store)
    buffer.event(ANN, "m", "click_tracking", datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    buffer.event(ANN, "m", "open_tracking", datetime(2020, 1, 1, 10, 0, tzinfo=UTC))
    await buffer.flush()
    assert len((await store.export(ANN))["tracking_events"]) == 2
    assert await store.purge(timedelta(days=395)) == 1
    assert await store.erase("Ann@Example.ORG") == 1
    assert await store.events(ANN) == []
