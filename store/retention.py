"""Retention: what the daily purge deletes, table by table, and stale consent evidence.

Kept apart from the audit store's writes and reports: these queries span the audit tables, the
delivery journal and the consent ledger, and run once a day, never on the relay's hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.audit import AuditDecision, AuditFinding, AuditRecipient, AuditReload
from store.db import Database
from store.derivation import Fact, current
from store.journal import DeliveredMessage
from store.ledger import NO_CONSENT
from store.models import ConsentEvent

JOURNAL = DeliveredMessage.__table__


class Retention:
    """Expired rows per table, and consent evidence past its own retention period."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def purge(self, cutoffs: dict[str, datetime], dry_run: bool) -> dict[str, int]:
        """Delete (or count, when ``dry_run``) rows older than each table's cutoff."""
        targets: list[tuple[str, Any, Any]] = []
        if "audit_decisions" in cutoffs:
            old = select(AuditDecision.id).where(
                AuditDecision.occurred_at < cutoffs["audit_decisions"]
            )
            targets += [
                ("audit_findings", AuditFinding, AuditFinding.decision_id.in_(old)),
                ("audit_recipients", AuditRecipient, AuditRecipient.decision_id.in_(old)),
                ("audit_decisions", AuditDecision, AuditDecision.id.in_(old)),
            ]
        if "audit_reloads" in cutoffs:
            where = AuditReload.occurred_at < cutoffs["audit_reloads"]
            targets.append(("audit_reloads", AuditReload, where))
        if "delivery_journal" in cutoffs:
            where = JOURNAL.c.delivered_at < cutoffs["delivery_journal"]
            targets.append(("delivery_journal", JOURNAL, where))
        counts: dict[str, int] = {}
        async with self.db.session() as session, session.begin():
            for name, model, condition in targets:
                if model is JOURNAL and not await session.run_sync(_has_journal):
                    continue
                counts[name] = await _remove(session, model, condition, dry_run)
        return counts

    async def stale_consent(
        self, cutoff: datetime, only: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Addresses whose every purpose ended (refused, withdrawn, objected, expired) before
        ``cutoff``, with their event counts: consent evidence past its retention period."""
        e = ConsentEvent
        candidates = select(e.recipient).group_by(e.recipient)
        candidates = candidates.having(func.max(e.occurred_at) < cutoff)
        if only is not None:
            candidates = candidates.where(e.recipient.in_(list(only)))
        async with self.db.session() as session:
            addresses = list((await session.scalars(candidates)).all())
            out: dict[str, int] = {}
            for start in range(0, len(addresses), 500):
                batch = addresses[start : start + 500]
                facts = select(e.recipient, e.controller, e.purpose, e.state, e.occurred_at,
                               e.id, e.method, e.expires_at).where(e.recipient.in_(batch))
                rows = (await session.execute(facts)).all()
                out.update(_ended(rows, cutoff))
        return out


def _ended(rows: Sequence[Any], cutoff: datetime) -> dict[str, int]:
    groups: dict[str, dict[tuple[str, str], list[Fact]]] = {}
    for address, controller, purpose, state, at, event_id, method, expires in rows:
        fact = Fact(purpose, state, at, event_id, method, expires)
        groups.setdefault(address, {}).setdefault((controller, purpose), []).append(fact)
    out: dict[str, int] = {}
    for address, by_purpose in groups.items():
        lasts = [current(facts) for facts in by_purpose.values()]
        if all(last is not None and _over(last, cutoff) for last in lasts):
            out[address] = sum(len(facts) for facts in by_purpose.values())
    return out


def _over(fact: Fact, cutoff: datetime) -> bool:
    if fact.state in NO_CONSENT:
        return fact.occurred_at < cutoff
    return fact.expires_at is not None and fact.expires_at < cutoff


async def _remove(session: AsyncSession, model: Any, where: Any, dry_run: bool) -> int:
    if dry_run:
        return int(await session.scalar(select(func.count()).select_from(model).where(where)) or 0)
    result = await session.execute(delete(model).where(where))
    return int(getattr(result, "rowcount", 0) or 0)


def _has_journal(session: Any) -> bool:
    return bool(inspect(session.connection()).has_table("delivery_journal"))
