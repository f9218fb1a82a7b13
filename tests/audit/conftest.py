"""Audit fixtures: a migrated store on SQLite, and on PostgreSQL when CONSENT_RELAY_TEST_PG is set.

PostgreSQL isolation: this run creates its own database (``cr_audit_<random>``), so parallel
runs of other engineers or CI jobs never see our tables; it is dropped at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from store.config import AuditConfig
from store.db import Database

sys.path.insert(0, str(Path(__file__).parent))

PG_ENV = "CONSENT_RELAY_TEST_PG"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def audit_pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    name = f"cr_audit_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        db = Database(url)
        await db.upgrade("heads")
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    url: str = request.getfixturevalue("audit_pg_url")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database = Database(db_url)
    if database.is_sqlite:
        await database.upgrade("heads")
    else:
        await _empty_pg(database)
    yield database
    await database.dispose()


@pytest.fixture
def audit_config() -> AuditConfig:
    return AuditConfig()
