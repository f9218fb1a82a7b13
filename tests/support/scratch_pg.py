"""Throwaway PostgreSQL databases for tests (when CONSENT_RELAY_TEST_PG names a server).

Each pytest run creates its own ``<prefix>_<random>`` database, migrated to every head, so test
runs of several people or CI jobs on one server never collide; it is dropped when done.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.db import Database

PG_ENV = "CONSENT_RELAY_TEST_PG"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def server_url() -> str:
    """The server URL from the environment, or skip the test."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    return base


async def _create(prefix: str) -> tuple[str, str, str]:
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        await db.upgrade("heads")
    finally:
        await db.dispose()
    return base, name, url


async def _drop(base: str, name: str) -> None:
    await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database_async(prefix: str) -> AsyncIterator[str]:
    """A migrated database for the duration of the block (inside a running event loop)."""
    base, name, url = await _create(prefix)
    try:
        yield url
    finally:
        await _drop(base, name)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """The same for session-scoped (synchronous) fixtures: each step on its own event loop."""
    base, name, url = asyncio.run(_create(prefix))
    try:
        yield url
    finally:
        asyncio.run(_drop(base, name))


async def fresh_database(url: str) -> Database:
    """A migrated, empty store: SQLite files are new per test; PostgreSQL runs share one
    scratch database, emptied here."""
    database = Database(url)
    if database.is_sqlite:
        await database.upgrade("heads")
    else:
        await empty_tables(database)
    return database


async def empty_tables(db: Database) -> None:
    """Truncate every table but Alembic's, so each test starts from an empty migrated store."""
    async with db.engine.begin() as connection:
        names = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        tables = ", ".join(f'"{n}"' for n in names)
        if tables:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
