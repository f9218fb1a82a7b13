"""The consent ledger: append events, derive current state, export and erase.

Append-only: rows are inserted, never updated; only :meth:`Ledger.erase` deletes them, leaving a
keyed hash in the suppression table so a refusal or objection survives the erasure.
Local writes notify listeners (the :class:`store.cache.ConsentCache` of this process).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, delete, insert, literal, select, union_all

from store.addresses import normalize
from store.db import Database
from store.derivation import SUPPRESSION, Fact, current, derive
from store.events import ErasureReceipt, EventView, NewEvent, text_hash
from store.models import ConsentEvent, Suppression, UTCDateTime
from store.state import ConsentState, ConsentStatus

EXPORT_SCHEMA = 1
NO_CONSENT = frozenset({"refused", "withdrawn", "objected"})
EVENTS: Table = ConsentEvent.__table__  # type: ignore[assignment]  # Core insert: 3x faster
_COLUMNS = [c.key for c in EVENTS.columns]


def _view(row: ConsentEvent) -> EventView:
    return EventView(**{name: getattr(row, name) for name in _COLUMNS})


class Ledger:
    """Consent events for one controller; ``hash_key`` keys the suppression hashes."""

    def __init__(
        self, db: Database, hash_key: str, controller: str = "default", *, keep_ip: bool = False
    ) -> None:
        self.db = db
        self._key = hash_key.encode("utf-8")
        self.controller = controller
        self.keep_ip = keep_ip
        self.listeners: list[Callable[[str], None]] = []
        self._facts = self._facts_query()

    def address_hash(self, recipient: str) -> str:
        """HMAC-SHA256 of the normalised address: matchable by us, useless to a thief."""
        return hmac.new(self._key, normalize(recipient).encode(), hashlib.sha256).hexdigest()

    def _changed(self, recipients: Iterable[str]) -> None:
        for recipient in set(recipients):
            for listener in self.listeners:
                listener(recipient)

    async def record(
        self,
        recipient: str,
        purposes: Sequence[str],
        state: str,
        *,
        method: str,
        source_id: str | None = None,
        text_version: str | None = None,
        text: str | None = None,
        language: str | None = None,
        policy_version: str | None = None,
        expires_at: datetime | None = None,
        actor: str | None = None,
        ip: str | None = None,
        evidence: str | None = None,
        occurred_at: datetime | None = None,
    ) -> list[int]:
        """Append one event per purpose (one transaction); return their ids."""
        template = NewEvent(
            recipient=normalize(recipient),
            purpose="",
            state=str(state),
            method=method,
            occurred_at=occurred_at or datetime.now(UTC),
            controller=self.controller,
            source_id=source_id,
            text_version=text_version,
            text_hash=text_hash(text) if text else None,
            language=language,
            policy_version=policy_version,
            expires_at=expires_at,
            actor=actor,
            ip=ip if self.keep_ip else None,
            evidence=evidence,
        )
        return await self._append(template, purposes)

    async def _append(self, template: NewEvent, purposes: Sequence[str]) -> list[int]:
        events = [replace(template, purpose=str(p)) for p in purposes]
        if not events:
            raise ValueError("at least one purpose is needed")
        for event in events:
            event.check()
        rows = [ConsentEvent(**event.row()) for event in events]
        async with self.db.session() as session, session.begin():
            session.add_all(rows)
            await session.flush()
            ids = [row.id for row in rows]
        self._changed([template.recipient])
        return ids

    async def insert_many(self, events: Sequence[NewEvent]) -> int:
        """Bulk append (imports): all rows in one transaction, or none."""
        for event in events:
            event.check()
        if events:
            async with self.db.session() as session, session.begin():
                await session.execute(insert(EVENTS), [e.row() for e in events])
        self._changed(e.recipient for e in events)
        return len(events)

    async def history(self, recipient: str) -> list[EventView]:
        """Every event on record for the address (all controllers), oldest first."""
        address = normalize(recipient)
        query = (
            select(ConsentEvent)
            .where(ConsentEvent.recipient == address)
            .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
        )
        async with self.db.session() as session:
            return [_view(row) for row in (await session.scalars(query)).all()]

    def _facts_query(self) -> Any:
        """Built once per ledger: reusing the statement object lets SQLAlchemy reuse its
        cache key and compiled SQL on every lookup (the IN lists are expanding parameters)."""
        events = select(
            ConsentEvent.recipient.label("key"),
            ConsentEvent.purpose,
            ConsentEvent.state,
            ConsentEvent.occurred_at.label("at"),
            ConsentEvent.id.label("event_id"),
            ConsentEvent.method,
            ConsentEvent.expires_at,
        ).where(
            ConsentEvent.controller == self.controller,
            ConsentEvent.recipient.in_(bindparam("addresses", expanding=True)),
        )
        suppressed = select(
            Suppression.address_hash,
            Suppression.purpose,
            Suppression.state,
            Suppression.created_at,
            literal(None, Integer),
            literal(SUPPRESSION),
            literal(None, UTCDateTime()),
        ).where(
            Suppression.controller == self.controller,
            Suppression.address_hash.in_(bindparam("hashes", expanding=True)),
        )
        return union_all(events, suppressed)

    async def states(self, recipients: Sequence[str]) -> dict[str, ConsentState]:
        """Current state per normalised address, for a whole RCPT batch in one query."""
        addresses = list(dict.fromkeys(normalize(r) for r in recipients))
        if not addresses:
            return {}
        hashes = {self.address_hash(a): a for a in addresses}
        facts: dict[str, list[Fact]] = {a: [] for a in addresses}
        query, values = self._facts, {"addresses": addresses, "hashes": list(hashes)}
        rows = await self.db.transaction(
            lambda connection: connection.execute(query, values).all(), read_only=True)
        for key, purpose, state, at, event_id, method, expires_at in rows:
            address = hashes.get(key, key)
            facts[address].append(Fact(purpose, state, at, event_id, method, expires_at))
        now = datetime.now(UTC)
        return {a: derive(a, f, now) for a, f in facts.items()}

    async def state(self, recipient: str) -> ConsentState:
        return (await self.states([recipient]))[normalize(recipient)]

    async def erase(self, recipient: str) -> ErasureReceipt:
        """Delete every event of the address; keep a suppression hash where consent was refused."""
        address = normalize(recipient)
        digest = self.address_hash(address)
        async with self.db.session() as session, session.begin():
            rows = (
                await session.scalars(select(ConsentEvent).where(ConsentEvent.recipient == address))
            ).all()
            kept = (
                await session.scalars(select(Suppression).where(Suppression.address_hash == digest))
            ).all()
            facts: dict[tuple[str, str], list[Fact]] = {}
            for row in rows:
                fact = Fact(row.purpose, row.state, row.occurred_at, row.id, row.method)
                facts.setdefault((row.controller, row.purpose), []).append(fact)
            for entry in kept:
                fact = Fact(entry.purpose, entry.state, entry.created_at, None, SUPPRESSION)
                facts.setdefault((entry.controller, entry.purpose), []).append(fact)
            now = datetime.now(UTC)
            entries = []
            for (controller, purpose), group in sorted(facts.items()):
                last = current(group)
                if last is not None and last.state in NO_CONSENT:
                    entries.append(
                        Suppression(
                            address_hash=digest,
                            purpose=purpose,
                            controller=controller,
                            state=last.state,
                            created_at=now,
                        )
                    )
            await session.execute(delete(Suppression).where(Suppression.address_hash == digest))
            await session.execute(delete(ConsentEvent).where(ConsentEvent.recipient == address))
            session.add_all(entries)
        self._changed([address])
        suppressed = tuple((e.controller, e.purpose, e.state) for e in entries)
        return ErasureReceipt(digest, len(rows), suppressed, now)

    async def export(self, recipient: str) -> dict[str, Any]:
        """Everything held about the address (GDPR Art. 15/20), as JSON-ready data."""
        address = normalize(recipient)
        events = await self.history(address)
        state = await self.state(address)
        return {
            "schema_version": EXPORT_SCHEMA,
            "address": address,
            "controller": self.controller,
            "exported_at": datetime.now(UTC).isoformat(),
            "events": [e.as_json() for e in events],
            "state": {p: s.status.value for p, s in sorted(state.purposes.items())},
            "suppressed": state.suppressed,
        }

    async def iter_all(self, batch: int = 1000) -> AsyncIterator[EventView]:
        """Every event of every address, by id, in pages (exports of any size)."""
        last = 0
        while True:
            query = (
                select(ConsentEvent)
                .where(ConsentEvent.id > last)
                .order_by(ConsentEvent.id)
                .limit(batch)
            )
            async with self.db.session() as session:
                rows = (await session.scalars(query)).all()
            if not rows:
                return
            for row in rows:
                yield _view(row)
            last = rows[-1].id


def no_consent(status: ConsentStatus) -> bool:
    return status.value in NO_CONSENT
