"""Delivery journal: which (sender, recipients, body) the relay already handed upstream.

Written right after upstream accepts a message and before the client gets its 250. When the
client retries the same message (because the relay died between those two moments, or the
reply was lost), the relay answers 250 without sending it again. This narrows the duplicate
window to the instant between upstream's reply and this write. Keys are SHA-256 digests; no
address or body is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Database
from store.models import Base, UTCDateTime, utcnow


class DeliveredMessage(Base):
    __tablename__ = "delivery_journal"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class DeliveryJournal:
    """The relay's :class:`relay.contracts.Journal`, on the shared store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def already_delivered(self, key: str) -> bool:
        async with self.db.session() as session:
            found = await session.scalar(
                select(DeliveredMessage.key).where(DeliveredMessage.key == key)
            )
        return found is not None

    async def remember(self, key: str) -> None:
        """Idempotent insert (a concurrent retry may race us to it)."""
        factory = sqlite_insert if self.db.is_sqlite else pg_insert
        statement = factory(DeliveredMessage).values(key=key, delivered_at=utcnow())
        async with self.db.session() as session:
            await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
            await session.commit()

    async def purge(self, older_than: timedelta) -> int:
        """Forget entries older than ``older_than``; returns how many were removed."""
        cutoff = utcnow() - older_than
        async with self.db.session() as session:
            result = await session.execute(
                delete(DeliveredMessage).where(DeliveredMessage.delivered_at < cutoff)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
