"""Delivery journal: which (sender, recipients, body) the relay already handed upstream.

Written right after upstream accepts a message and before the client gets its 250. When the
client retries the same message (because the relay died between those two moments, or the
reply was lost), the relay answers 250 without sending it again. This narrows the duplicate
window to the instant between upstream's reply and this write. Keys are SHA-256 digests; no
address or body is stored.

Checks are answered from memory: :meth:`DeliveryJournal.load` reads the keys of the last
``window`` at start-up (so a relay restarted after a crash recognises the retries), and every
write also lands in memory (:mod:`store.recent`: the last ``MAX_REMEMBERED`` keys in memory
fixed at start-up). A retry that reaches *another* relay instance sharing the database
is therefore not recognised; that costs a possible duplicate, never a loss, and saves a
database query on every message (``shared`` journals, used when several workers share a
port, do ask the database on a miss).

With a key log (:mod:`store.keylog`, the default beside a SQLite store) ``remember`` appends the
key to that file before it returns, and the database row follows within ``FLUSH_DELAY`` in a
shared batch: the file is what survives a crash of this process, the table is what other
instances, restarts after a lost file and the retention purge see. Without a key log, writes
are group-committed and ``remember`` returns only once its own key is committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from store.batching import GroupCommit
from store.db import Database
from store.keylog import KeyLog
from store.models import Base, UTCDateTime, utcnow
from store.recent import RecentKeys

MAX_REMEMBERED = 200_000  # keys kept in memory (5.2 MiB) and per key log generation
FLUSH_DELAY = 0.1  # seconds a key may be only in the key log before its database row

log = logging.getLogger("consent_relay.journal")


class DeliveredMessage(Base):
    __tablename__ = "delivery_journal"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class DeliveryJournal:
    """The relay's :class:`relay.contracts.Journal`, on the shared store."""

    def __init__(
        self, db: Database, window: timedelta = timedelta(days=2), *, shared: bool = False,
        keylog: KeyLog | None = None,
    ) -> None:
        self.db = db
        self.window = window
        self.shared = shared
        self.keylog = keylog
        self._unflushed: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self._recent = RecentKeys(MAX_REMEMBERED)  # fixed memory, allocated now
        insert = (sqlite_insert if db.is_sqlite else pg_insert)(DeliveredMessage)
        self._insert = insert.on_conflict_do_nothing(index_elements=["key"])  # built once
        self._batches: GroupCommit[str] = GroupCommit(self._write)

    def _note(self, key: str) -> None:
        self._note_digest(bytes.fromhex(key))

    def _note_digest(self, digest: bytes) -> None:
        self._recent.add(digest)

    async def load(self) -> int:
        """Read the keys written within the window (call once at start-up)."""
        cutoff = utcnow() - self.window
        query = (
            select(DeliveredMessage.key)
            .where(DeliveredMessage.delivered_at >= cutoff)
            .order_by(DeliveredMessage.delivered_at.desc())
            .limit(MAX_REMEMBERED)
        )
        async with self.db.engine.connect() as connection:
            newest_first = (await connection.scalars(query)).all()
        for key in reversed(newest_first):  # oldest first, so the newest are kept longest
            try:
                self._note(key)
            except ValueError:  # not a hex digest: not a key this relay wrote
                continue
        if self.keylog is not None:
            self._load_keylog(cutoff.timestamp())
        return len(self._recent)

    def _load_keylog(self, newer_than: float) -> None:
        """Keys whose database commit a crash cut short; a key log that cannot be read or
        written is dropped (logged): every ``remember`` then waits for the database commit."""
        assert self.keylog is not None
        try:
            for digest in self.keylog.read(newer_than=newer_than):
                self._note_digest(digest)
            self.keylog.open()
        except OSError as exc:
            log.error("journal_keylog_unavailable",
                      extra={"path": str(self.keylog.path), "error": str(exc)})
            self.keylog = None

    async def already_delivered(self, key: str) -> bool:
        """Memory first; with ``shared`` (several workers) a miss also asks the database."""
        if bytes.fromhex(key) in self._recent:
            return True
        if not self.shared:
            return False
        async with self.db.engine.connect() as connection:
            found = await connection.scalar(
                select(DeliveredMessage.key).where(DeliveredMessage.key == key)
            )
        return found is not None

    async def remember(self, key: str) -> None:
        """Record that upstream accepted the message ``key`` names; raise if that failed.

        Noted in memory and in the key log first, before anything can yield: that fact then
        holds even if this caller is cancelled (client gone) or the process is killed. With
        a key log the database row follows within ``FLUSH_DELAY`` in a shared batch (the key
        log already survives a crash); without one, or when the key log cannot be written,
        this returns only once the row is committed.
        """
        digest = bytes.fromhex(key)
        self._note_digest(digest)
        if self.keylog is not None:
            try:
                self.keylog.append(digest)
            except OSError:
                await self._batches.submit(key)
                raise
            self._unflushed.append(key)
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush_later())
            return
        await self._batches.submit(key)

    async def _flush_later(self) -> None:
        while self._unflushed:  # keys remembered while a flush runs go in the next round
            await asyncio.sleep(FLUSH_DELAY)
            await self.flush()

    async def flush(self) -> None:
        """Commit the rows of keys so far only in the key log (a failure is logged: the key
        log still holds them for this process, and the next flush does not retry them)."""
        keys, self._unflushed = self._unflushed, []
        if not keys:
            return
        try:
            await self._batches.submit_many(keys)
        except Exception:
            log.exception("journal_flush_failed", extra={"keys": len(keys)})

    async def close(self) -> None:
        """Flush, then close the key log (at shutdown, before the database is disposed)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush()
        await self._batches.drain()  # a batch the cancelled flusher had started
        if self.keylog is not None:
            self.keylog.close()

    async def _write(self, keys: Sequence[str]) -> None:
        rows = [{"key": key, "delivered_at": utcnow()} for key in keys]
        await self.db.transaction(lambda connection: connection.execute(self._insert, rows))

    async def purge(self, older_than: timedelta) -> int:
        """Forget entries older than ``older_than``; returns how many were removed."""
        cutoff = utcnow() - older_than
        async with self.db.engine.begin() as connection:
            result = await connection.execute(
                delete(DeliveredMessage).where(DeliveredMessage.delivered_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)
