"""The measurement store behaves the same on SQLite and PostgreSQL (upserts differ by dialect).

PostgreSQL runs when CONSENT_RELAY_TEST_PG is set (a server URL; a throwaway database is created
and dropped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.db import Database
from store.tracking import TrackingBuffer, TrackingStore

PG_ENV = "CONSENT_RELAY_TEST_PG"
ANN = "ann@example.org"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'tracking.db'}")
        await database.upgrade("heads")
        yield database
        await database.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    name = f"cr_tracking_{uuid.uuid4().hex[:12]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    database = Database(make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        await database.upgrade("heads")
        yield database
    finally:
        await database.dispose()
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
