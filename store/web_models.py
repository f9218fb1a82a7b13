"""Used consent-form nonces: a replayed POST from a recipient page records nothing new.

Each form shown by ``web/`` carries a random nonce inside its CSRF token. The first POST with a
given (nonce, choice) claims the row; a replay (double click, browser retry, an attacker
re-sending a captured request) finds it taken. Rows hold only a SHA-256 digest and a time and
are purged once the form they belonged to has expired anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Database
from store.models import Base, UTCDateTime, utcnow


class UsedFormNonce(Base):
    __tablename__ = "web_form_nonces"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FormNonces:
    """Claim-once register of form submissions, on the shared store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, digest: str) -> bool:
        """True for the first claim of ``digest``, False for every later one (any process)."""
        factory = sqlite_insert if self.db.is_sqlite else pg_insert
        statement = (
            factory(UsedFormNonce)
            .values(digest=digest, used_at=utcnow())
            .on_conflict_do_nothing(index_elements=["digest"])
        )
        async with self.db.session() as session:
            result = await session.execute(statement)
            await session.commit()
        return bool(getattr(result, "rowcount", 0))

    async def release(self, digest: str) -> None:
        """Undo a claim whose ledger write failed, so the recipient can try again."""
        async with self.db.session() as session:
            await session.execute(delete(UsedFormNonce).where(UsedFormNonce.digest == digest))
            await session.commit()

    async def purge(self, older_than: timedelta) -> int:
        cutoff = utcnow() - older_than
        async with self.db.session() as session:
            result = await session.execute(
                delete(UsedFormNonce).where(UsedFormNonce.used_at < cutoff)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
