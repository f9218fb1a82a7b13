"""Migration 0003 creates exactly the tables ``store/tracking.py`` declares, on its own branch."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store.db import Database
from store.models import Base
from store.tracking import TrackingCount

TABLES = {"tracking_counts", "tracking_events", "tracking_last_open"}


def _differences(connection: Any) -> list[Any]:
    """Autogenerate's differences that touch a tracking table (other tables are not ours)."""
    diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return [d for d in diffs if TABLES & _names(d)]


def _names(diff: Any) -> set[str]:
    items = diff if isinstance(diff, list) else [diff]
    names = set()
    for item in items:
        for part in item[1:]:
            if isinstance(part, str):
                names.add(part)
            else:
                names.add(str(getattr(getattr(part, "table", part), "name", "")))
    return names


async def test_upgrading_heads_creates_the_tracking_tables_as_declared(db: Database) -> None:
    async with db.engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert names >= TABLES
        assert await connection.run_sync(_differences) == []
    assert TrackingCount.__table__.primary_key.columns.keys() == [
        "day",
        "message_ref",
        "purpose",
        "source",
    ]
