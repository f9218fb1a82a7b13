"""With a key log, a delivery key is in the file at once and in the database shortly after."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store.db import Database
from store.journal import FLUSH_DELAY, DeliveryJournal
from store.keylog import KeyLog

KEY = hashlib.sha256(b"one delivery").hexdigest()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await database.upgrade("heads")
    yield database
    await database.dispose()


async def rows_in_database(db: Database) -> int:
    return await DeliveryJournal(db).load()  # no key log: the table alone


async def test_a_key_reaches_the_database_within_the_flush_delay(
    db: Database, tmp_path: Path
) -> None:
    journal = DeliveryJournal(db, keylog=KeyLog(tmp_path / "keys", 100))
    await journal.remember(KEY)
    assert list(KeyLog(tmp_path / "keys", 100).read(newer_than=0)) == [bytes.fromhex(KEY)]
    await asyncio.sleep(FLUSH_DELAY * 5)
    assert await rows_in_database(db) == 1
    await journal.close()


async def test_closing_the_journal_commits_keys_not_yet_flushed(
    db: Database, tmp_path: Path
) -> None:
    journal = DeliveryJournal(db, keylog=KeyLog(tmp_path / "keys", 100))
    await journal.remember(KEY)
    await journal.close()
    assert await rows_in_database(db) == 1


async def test_without_a_key_log_remember_returns_once_the_row_is_committed(db: Database) -> None:
    await DeliveryJournal(db).remember(KEY)
    assert await rows_in_database(db) == 1


async def test_a_key_remembered_while_a_flush_runs_still_reaches_the_database(
    db: Database, tmp_path: Path
) -> None:
    journal = DeliveryJournal(db, keylog=KeyLog(tmp_path / "keys", 100))
    other_writer = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # the CLI or the web pages writing: flush waits
    await journal.remember(KEY)
    await asyncio.sleep(FLUSH_DELAY * 1.5)  # the first flush is now waiting for the lock
    await journal.remember(hashlib.sha256(b"another delivery").hexdigest())
    other_writer.execute("COMMIT")
    other_writer.close()
    await asyncio.sleep(FLUSH_DELAY * 10)
    assert await rows_in_database(db) == 2
    await journal.close()


async def test_an_unwritable_key_log_falls_back_to_waiting_for_the_database(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the key log's folder should be")
    journal = DeliveryJournal(db, keylog=KeyLog(blocker / "keys", 100))
    await journal.load()
    assert journal.keylog is None
    assert "journal_keylog_unavailable" in caplog.text
    await journal.remember(KEY)
    assert await rows_in_database(db) == 1
