"""The database handle: migrations from any directory, SQLite set up for sharing, health."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from store.audit import AuditStore, NewDecision
from store.cache import ConsentCache
from store.db import Database, alembic_config
from store.ledger import Ledger


async def test_upgrade_creates_the_sqlite_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "consent.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    await db.upgrade()  # idempotent
    assert await db.ping()
    await db.dispose()
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"consent_events", "consent_suppression", "alembic_version"} <= tables
    assert mode == "wal"


async def test_ping_is_false_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert not await db.ping()
    await db.dispose()


def test_consent_ledger_is_revision_0001_the_single_root_of_the_history() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    base = scripts.get_revision("0001")
    assert base is not None and base.down_revision is None
    assert scripts.get_bases() == ["0001"]


def test_migrations_run_from_another_working_directory(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    code = (
        "import asyncio; from store.db import Database\n"
        f"db = Database('sqlite+aiosqlite:///{path}')\n"
        "asyncio.run(db.upgrade())\n"
    )
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert path.exists()


async def test_postgres_database_is_migrated_to_head(db: Database) -> None:
    assert await db.ping()


async def test_a_consent_lookup_does_not_wait_behind_a_write_waiting_for_the_lock(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await db.upgrade()
    cache = ConsentCache(Ledger(db, "k"), ttl_seconds=0, timeout=2.0)
    other_writer = sqlite3.connect(tmp_path / "relay.db", isolation_level=None,
                                   check_same_thread=False)
    other_writer.execute("BEGIN IMMEDIATE")  # the CLI or the purge holds the write lock
    try:
        record = NewDecision("t", None, "a@b.example", "b.example", "strip", "r", "v", None,
                             "delivered", "250", "", {})
        waiting_write = asyncio.ensure_future(AuditStore(db).add_many([record]))
        await asyncio.sleep(0.05)
        state = await asyncio.wait_for(cache.lookup("someone@example.org"), 1.0)
        assert state.reachable and cache.store_errors == 0
    finally:
        other_writer.execute("COMMIT")
        other_writer.close()
    await waiting_write
    await db.dispose()


async def test_health_fails_when_the_sqlite_file_is_deleted_under_the_relay(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    await db.upgrade()
    assert await db.ping()
    (tmp_path / "relay.db").unlink()  # open connections would go on writing into the void
    assert not await db.ping()
    await db.dispose()
