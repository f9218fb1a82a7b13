"""What ``/t/`` measures about routed trackers (issue 6): little, per configuration, batched.

Three tables, each for one ``[tracking] measurement`` mode:

- ``tracking_counts``: hits per day, message reference, purpose and source (``person`` or
  ``machine``, the latter for mail-privacy prefetchers). Hits without consent are counted under
  the empty message reference only: an all-messages daily total, which says nothing about
  anyone (routed mail is one transaction per recipient, so a per-message count would).
- ``tracking_events`` (``identified``): which recipient opened or clicked which message, when;
  written only under consent, never with an IP address or user agent.
- ``tracking_last_open`` (``deliverability``): the date, not the time, of each recipient's
  last open, and nothing else (the CNIL list-hygiene exemption).

Writes go through :class:`TrackingBuffer`: the request path only touches dicts, and a background
task flushes them every ``flush_interval`` seconds, so a crash loses at most that window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Index, Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from store.addresses import normalize
from store.db import Database
from store.models import Base, UTCDateTime, utcnow

log = logging.getLogger("consent_relay.store")
CountKey = tuple[date, str, str, str]  # day, message_ref, purpose, source


class TrackingCount(Base):
    __tablename__ = "tracking_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    message_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(320))
    message_ref: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_tracking_events_recipient", "recipient"),
        Index("ix_tracking_events_occurred_at", "occurred_at"),
    )


class TrackingLastOpen(Base):
    __tablename__ = "tracking_last_open"

    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    last_open: Mapped[date] = mapped_column(Date)


@dataclass(frozen=True)
class CountRow:
    day: date
    message_ref: str
    purpose: str
    source: str
    hits: int


@dataclass(frozen=True)
class EventRow:
    recipient: str
    message_ref: str
    purpose: str
    occurred_at: datetime


class TrackingStore:
    """Queries on the three tables; writes come batched from :class:`TrackingBuffer`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self, table: Any) -> Any:
        return (sqlite_insert if self.db.is_sqlite else pg_insert)(table)

    async def write(
        self,
        counts: dict[CountKey, int],
        events: Sequence[EventRow],
        last_opens: dict[str, date],
    ) -> None:
        """One transaction: add counts, append events, move last-open dates forward."""
        async with self.db.session() as session, session.begin():
            if counts:
                rows = [
                    {"day": d, "message_ref": m, "purpose": p, "source": s, "hits": n}
                    for (d, m, p, s), n in counts.items()
                ]
                statement = self._insert(TrackingCount)
                statement = statement.on_conflict_do_update(
                    index_elements=["day", "message_ref", "purpose", "source"],
                    set_={"hits": TrackingCount.hits + statement.excluded.hits},
                )
                await session.execute(statement, rows)
            if events:
                session.add_all(
                    TrackingEvent(
                        recipient=e.recipient,
                        message_ref=e.message_ref,
                        purpose=e.purpose,
                        occurred_at=e.occurred_at,
                    )
                    for e in events
                )
            for recipient, day in last_opens.items():
                await self._last_open(session, recipient, day)

    async def _last_open(self, session: Any, recipient: str, day: date) -> None:
        statement = self._insert(TrackingLastOpen).values(recipient=recipient, last_open=day)
        statement = statement.on_conflict_do_update(
            index_elements=["recipient"],
            set_={"last_open": statement.excluded.last_open},
            where=TrackingLastOpen.last_open < statement.excluded.last_open,
        )
        await session.execute(statement)

    async def counts(self, message_ref: str | None = None) -> list[CountRow]:
        query = select(TrackingCount).order_by(
            TrackingCount.day,
            TrackingCount.message_ref,
            TrackingCount.purpose,
            TrackingCount.source,
        )
        if message_ref is not None:
            query = query.where(TrackingCount.message_ref == message_ref)
        async with self.db.session() as session:
            rows = (await session.scalars(query)).all()
        return [CountRow(r.day, r.message_ref, r.purpose, r.source, r.hits) for r in rows]

    async def events(self, recipient: str) -> list[EventRow]:
        query = (
            select(TrackingEvent)
            .where(TrackingEvent.recipient == normalize(recipient))
            .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
        )
        async with self.db.session() as session:
            rows = (await session.scalars(query)).all()
        return [EventRow(r.recipient, r.message_ref, r.purpose, r.occurred_at) for r in rows]

    async def last_open(self, recipient: str) -> date | None:
        query = select(TrackingLastOpen.last_open).where(
            TrackingLastOpen.recipient == normalize(recipient)
        )
        async with self.db.session() as session:
            return (await session.execute(query)).scalar_one_or_none()

    async def export(self, recipient: str) -> dict[str, Any]:
        """Everything held about the address here (subject access; JSON-ready)."""
        last = await self.last_open(recipient)
        return {
            "tracking_events": [
                {
                    "message_ref": e.message_ref,
                    "purpose": e.purpose,
                    "occurred_at": e.occurred_at.isoformat(),
                }
                for e in await self.events(recipient)
            ],
            "last_open": last.isoformat() if last else None,
        }

    async def erase(self, recipient: str) -> int:
        """Delete the address's events and last-open date (counts hold no address)."""
        address = normalize(recipient)
        async with self.db.session() as session, session.begin():
            results = [
                await session.execute(delete(table).where(table.recipient == address))
                for table in (TrackingEvent, TrackingLastOpen)
            ]
        return sum(int(getattr(r, "rowcount", 0) or 0) for r in results)

    async def purge(self, older_than: timedelta) -> int:
        """Retention: drop counts, events and last-open dates older than ``older_than``."""
        cutoff = utcnow() - older_than
        day = cutoff.date()
        statements = [
            delete(TrackingCount).where(TrackingCount.day < day),
            delete(TrackingEvent).where(TrackingEvent.occurred_at < cutoff),
            delete(TrackingLastOpen).where(TrackingLastOpen.last_open < day),
        ]
        async with self.db.session() as session, session.begin():
            results = [await session.execute(s) for s in statements]
        return sum(int(getattr(r, "rowcount", 0) or 0) for r in results)


class TrackingBuffer:
    """In-memory hits between flushes; beyond ``limit`` entries new hits are dropped (counted)."""

    def __init__(self, store: TrackingStore, limit: int = 100_000) -> None:
        self.store = store
        self.limit = limit
        self.dropped = 0
        self.flush_errors = 0
        self._counts: dict[CountKey, int] = {}
        self._events: list[EventRow] = []
        self._last_opens: dict[str, date] = {}
        self._lock = asyncio.Lock()

    def _size(self) -> int:
        return len(self._counts) + len(self._events) + len(self._last_opens)

    def count(self, day: date, message_ref: str, purpose: str, source: str) -> None:
        key = (day, message_ref, purpose, source)
        if key in self._counts:
            self._counts[key] += 1
        elif self._size() < self.limit:
            self._counts[key] = 1
        else:
            self.dropped += 1

    def event(self, recipient: str, message_ref: str, purpose: str, at: datetime) -> None:
        if self._size() < self.limit:
            self._events.append(EventRow(recipient, message_ref, purpose, at))
        else:
            self.dropped += 1

    def last_open(self, recipient: str, day: date) -> None:
        known = self._last_opens.get(recipient)
        if known is not None:
            self._last_opens[recipient] = max(known, day)
        elif self._size() < self.limit:
            self._last_opens[recipient] = day
        else:
            self.dropped += 1

    async def flush(self) -> None:
        """Write what is buffered; on failure keep it for the next flush (within ``limit``)."""
        async with self._lock:
            counts, events, last_opens = self._counts, self._events, self._last_opens
            if not (counts or events or last_opens):
                return
            self._counts, self._events, self._last_opens = {}, [], {}
            try:
                await self.store.write(counts, events, last_opens)
            except Exception as exc:
                self.flush_errors += 1
                log.warning(
                    "tracking_flush_failed",
                    extra={"event": "tracking_flush_failed", "reason": type(exc).__name__},
                )
                self._restore(counts, events, last_opens)

    def _restore(
        self, counts: dict[CountKey, int], events: list[EventRow], last_opens: dict[str, date]
    ) -> None:
        for key, hits in counts.items():
            if key in self._counts or self._size() < self.limit:
                self._counts[key] = self._counts.get(key, 0) + hits
            else:
                self.dropped += hits
        for event in events:
            self.event(event.recipient, event.message_ref, event.purpose, event.occurred_at)
        for recipient, day in last_opens.items():
            self.last_open(recipient, day)

    async def run(self, interval: float) -> None:
        """Flush every ``interval`` seconds until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(interval)
                await self.flush()
        finally:
            await asyncio.shield(self.flush())
