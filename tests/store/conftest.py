"""Store fixtures: every ``db`` test runs on SQLite, and on PostgreSQL when CONSENT_RELAY_TEST_PG
is set (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``).

PostgreSQL isolation: each pytest run creates its own database (``cr_test_<random>``), so runs
of several people or CI jobs on one server never collide; tables are emptied before each test
and the database is dropped at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.db import Database
from store.ledger import Ledger

PG_ENV = "CONSENT_RELAY_TEST_PG"
HASH_KEY = "test-hash-key"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test run, migrated to head."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    name = f"cr_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        db = Database(url)
        await db.upgrade()
        await db.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_pg(db: Database) -> None:
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database = Database(db_url)
    if database.is_sqlite:
        await database.upgrade()
    else:
        await _empty_pg(database)
    yield database
    await database.dispose()


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return Ledger(db, HASH_KEY, "acme")
