"""Audit fixtures: a migrated store on SQLite, and on PostgreSQL when CONSENT_RELAY_TEST_PG is set.

PostgreSQL isolation: this run creates its own database (``cr_audit_<random>``), so parallel
runs of other engineers or CI jobs never see our tables; it is dropped at the end of the run.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from scratch_pg import fresh_database, scratch_database

from store.config import AuditConfig
from store.db import Database

sys.path.insert(0, str(Path(__file__).parent))



@pytest.fixture(scope="session")
def audit_pg_url() -> Iterator[str]:
    with scratch_database("cr_audit") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    url: str = request.getfixturevalue("audit_pg_url")
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database = await fresh_database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def audit_config() -> AuditConfig:
    return AuditConfig()
