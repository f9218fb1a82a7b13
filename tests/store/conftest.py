"""Store fixtures: every ``db`` test runs on SQLite, and on PostgreSQL when CONSENT_RELAY_TEST_PG
is set (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``).

PostgreSQL isolation: each pytest run creates its own database (``cr_test_<random>``), so runs
of several people or CI jobs on one server never collide; tables are emptied before each test
and the database is dropped at the end of the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from scratch_pg import fresh_database, scratch_database

from store.db import Database
from store.ledger import Ledger

HASH_KEY = "test-hash-key"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test run, migrated to every head."""
    with scratch_database("cr_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database = await fresh_database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return Ledger(db, HASH_KEY, "acme")
