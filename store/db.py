"""The database handle: one async engine per process, migrations, health check.

SQLite (``sqlite+aiosqlite:///path``) is the embedded default; PostgreSQL
(``postgresql+asyncpg://...``) serves several relay instances. SQLite runs in WAL mode with a
busy timeout so the relay and the CLI can use one file at the same time.

The relay's per-message statements (consent lookups on a cache miss, the delivery journal,
decision records) go through :meth:`Database.transaction`: one plain function over a sync
``Connection``, one transaction. On a SQLite file it runs on a dedicated thread with the stdlib
driver, so a whole batch costs the event loop one hand-off instead of one per cursor call
(aiosqlite hops threads for every execute, fetch, close and commit); on PostgreSQL it runs
through the async engine's ``run_sync``. The same function serves both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.worker import StoreThread

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000


def alembic_config(url: str | None = None) -> AlembicConfig:
    """Alembic settings built in code, so migrations run from any install and any CWD."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _folder_check(path: Path) -> Callable[..., None]:
    """Refuse early when the SQLite folder is missing (``upgrade`` creates it).

    aiosqlite leaves a worker thread behind when the open fails, which later prints a traceback
    at exit; failing before it is asked keeps the fail-closed path clean.
    """

    def check(*_args: Any) -> None:
        if not path.parent.is_dir():
            raise sqlite3.OperationalError(f"unable to open database file: no folder {path.parent}")

    return check


def _run_upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


class Database:
    """Owns the async engine; cheap sessions via :meth:`session`."""

    def __init__(self, url: str, *, echo: bool = False, connect_timeout: float = 5.0) -> None:
        self.url = url
        self._parsed = make_url(url)
        self.is_sqlite = self._parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            options["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        else:
            options["pool_pre_ping"] = True
            options["pool_size"] = 10
            options["connect_args"] = {"timeout": connect_timeout}
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            path = self.sqlite_file
            if path is not None:
                event.listen(self.engine.sync_engine, "do_connect", _folder_check(path))
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._direct: Engine | None = None
        self._file_identity: tuple[int, int] | None = None  # (device, inode) once seen
        self._writer = StoreThread("store-write")
        self._reader = StoreThread("store-read")  # lookups never queue behind a waiting write
        path = self.sqlite_file
        if path is not None:  # a file, so a second engine sees the same data
            self._direct = create_engine(
                self._parsed.set(drivername="sqlite+pysqlite"),
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            event.listen(self._direct, "connect", _sqlite_pragmas)
            event.listen(self._direct, "do_connect", _folder_check(path))

    @property
    def sync_engines(self) -> list[Engine]:
        """Every engine statements may run on (to attach SQLAlchemy event listeners)."""
        return [self.engine.sync_engine, *([self._direct] if self._direct else [])]

    async def transaction(self, work: Callable[[Connection], T], *, read_only: bool = False) -> T:
        """``work(connection)`` in one transaction, committed before this returns.

        SQLite file: on a store thread (one hand-off per call); reads have their own thread
        and connection, so a consent lookup never waits behind a write that waits for the
        lock (WAL lets readers go on). Otherwise: ``run_sync`` on the async engine. ``work``
        must only use the connection: it may run on another thread.
        """
        if self._direct is None:
            async with self.engine.begin() as connection:
                return await connection.run_sync(work)
        thread = self._reader if read_only else self._writer
        return await thread.run(partial(self._run_direct, work))

    def _run_direct(self, work: Callable[[Connection], T]) -> T:
        assert self._direct is not None
        with self._direct.begin() as connection:
            return work(connection)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits (``async with session.begin()``) or it rolls back."""
        async with self._sessions() as session:
            yield session

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of a SQLite store (``None`` for PostgreSQL or ``:memory:``)."""
        database = self._parsed.database
        if not self.is_sqlite or not database or database == ":memory:":
            return None
        return Path(database)

    async def upgrade(self, revision: str = "heads") -> None:
        """Run Alembic migrations to ``revision``; creates the SQLite file (and folder) if new.

        ``heads`` rather than ``head``: should two teams' migrations branch from one parent
        before being renumbered, every branch is still applied instead of failing at start-up.
        """
        path = self.sqlite_file
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        async with self.engine.begin() as connection:
            await connection.run_sync(_run_upgrade, revision)
        self._same_file()  # the file the relay works on from now on

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when a trivial query answers within ``timeout`` seconds (health endpoints)
        and a SQLite file is still the one the relay opened."""
        if not self._same_file():
            return False

        async def probe() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(probe(), timeout)
        except Exception:
            return False
        return True

    def _same_file(self) -> bool:
        """A SQLite file deleted or replaced under the running relay keeps answering through
        the descriptors already open, so queries alone would never notice that every write
        from then on is lost at the next restart; its identity does."""
        path = self.sqlite_file
        if path is None:
            return True
        try:
            status = path.stat()
        except OSError:
            return False
        identity = (status.st_dev, status.st_ino)
        if self._file_identity is None:
            self._file_identity = identity
        return identity == self._file_identity

    async def dispose(self) -> None:
        if self._direct is not None:
            await self._reader.stop()
            await self._writer.run(self._direct.dispose)
            await self._writer.stop()
        await self.engine.dispose()
