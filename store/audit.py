"""Audit tables and their queries: decision records, their recipients and findings, reloads.

A decision record proves what the relay did with one transaction without keeping the mail:
no body, no subject, recipients only as keyed hashes (clear text only when the admin turned
``[audit] clear_recipients`` on) plus their domain's TLD, which is not personal and lets the
report show consent coverage by jurisdiction profile. Plain dataclasses cross the boundary;
no SQLAlchemy object leaves ``store/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from store.audit_models import AuditDecision, AuditFinding, AuditRecipient, AuditReload
from store.db import Database
from store.models import utcnow

__all__ = ["AuditDecision", "AuditFinding", "AuditRecipient", "AuditReload", "AuditStore",
           "NewDecision", "NewRecipient", "Window"]

FLAG_LIMIT = 500


@dataclass(frozen=True)
class NewRecipient:
    address_hash: str
    tld: str
    rule_id: str
    open_status: str
    click_status: str
    consent_event_ids: str = ""
    reachable: bool = True
    address: str | None = None


@dataclass(frozen=True)
class NewDecision:
    """A decision record to write; built by ``audit.recorder`` from a relay Delivery."""

    trace_id: str
    message_id_hash: str | None
    sender: str
    sender_domain: str
    treatment: str
    rule_id: str
    policy_version: str
    category: str | None
    outcome: str
    reply_code: str
    consent_event_ids: str
    flags: dict[str, bool]
    rewrite_ms: float = 0.0
    upstream_ms: float = 0.0
    recipients: Sequence[NewRecipient] = ()
    findings: Sequence[tuple[str, str, str, int]] = ()  # vendor, kind, action, count
    occurred_at: datetime = field(default_factory=utcnow)


@dataclass
class Window:
    """Raw aggregates of one report period; ``audit.report`` shapes them for people."""

    findings: list[tuple[str, str, str, str, str, int]]  # sender, domain, vendor, kind, action, n
    outcomes: list[tuple[str, str, int, int]]  # treatment, outcome, messages, recipients
    coverage: list[tuple[str, str, str, int]]  # tld, open status, click status, recipients
    flags: dict[str, int]
    flagged: list[dict[str, Any]]  # uncleanable or store-unreachable decisions
    reloads: list[tuple[datetime, str, str, str]]  # time, event, version, detail


FLAGS = ("changed", "uncleanable", "report_mode", "store_unreachable", "duplicate_suppressed")


def _decision_values(record: NewDecision) -> dict[str, Any]:
    columns = {k: v for k, v in vars(record).items() if k in AuditDecision.__table__.c}
    flags = {name: bool(record.flags.get(name)) for name in FLAGS}
    values = {**_fit(AuditDecision, columns), **flags,
              "recipient_count": len(record.recipients)}
    if values.get("occurred_at") is None:
        values["occurred_at"] = utcnow()
    return values


class AuditStore:
    """Writes and reads the audit tables on the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, record: NewDecision) -> int:
        """Write one decision with its recipients and findings in one transaction."""
        return (await self.add_many([record]))[0]

    async def add_many(self, records: Sequence[NewDecision]) -> list[int]:
        """Write several decisions in ONE transaction (the recorder's group commit).

        Core statements, not ORM units of work: three executemany calls per batch whatever its
        size, which keeps the audit trail cheap on the relay's hot path.
        """
        rows = [_decision_values(record) for record in records]
        return await self.db.transaction(partial(_insert_decisions, records=records, rows=rows))

    async def add_reload(self, event: str, version: str, detail: str = "") -> None:
        async with self.db.session() as session, session.begin():
            session.add(AuditReload(event=event, version=version, detail=detail[:4000]))

    async def window(self, since: datetime, until: datetime | None = None) -> Window:
        """Every aggregate the report needs for decisions in [since, until)."""
        q = _window_queries(since, until or utcnow())
        async with self.db.session() as session:
            sums = (await session.execute(q["flags"])).one()
            marked = (await session.scalars(q["flagged"])).all()
            found = (await session.execute(q["findings"])).all()
            done = (await session.execute(q["outcomes"])).all()
            covered = (await session.execute(q["coverage"])).all()
            reloads = (await session.scalars(q["reloads"])).all()
        return Window(
            findings=[(a, b, c, k, x, int(n)) for a, b, c, k, x, n in found],
            outcomes=[(t, o, int(n), int(m or 0)) for t, o, n, m in done],
            coverage=[(t, o, c, int(n)) for t, o, c, n in covered],
            flags={**dict(zip(FLAGS, sums[:-1], strict=True)), "messages": sums[-1]},
            flagged=[_flagged(x) for x in marked],
            reloads=[(x.occurred_at, x.event, x.version, x.detail) for x in reloads],
        )

    async def recipient_records(self, address_hash: str) -> list[dict[str, Any]]:
        """Decisions about one recipient (by keyed hash), for a data-subject access request."""
        d, r = AuditDecision, AuditRecipient
        query = select(d, r).join(r, r.decision_id == d.id).where(r.address_hash == address_hash)
        async with self.db.session() as session:
            rows = (await session.execute(query.order_by(d.id))).all()
        return [
            {**_flagged(x), "rule_id": y.rule_id, "policy_version": x.policy_version,
             "open_tracking": y.open_status, "click_tracking": y.click_status,
             "consent_event_ids": y.consent_event_ids, "changed": x.changed}
            for x, y in rows
        ]

    async def erase_recipient(self, address_hash: str, address: str) -> int:
        """Erasure: drop every per-recipient row (hash, TLD, consent ids) of this address.

        The decision rows stay (sender, treatment, findings): they say nothing about the
        erased person once their recipient rows are gone, and the counts in reports hold.
        """
        r = AuditRecipient
        condition = (r.address_hash == address_hash) | (r.address == address)
        async with self.db.session() as session, session.begin():
            result = await session.execute(delete(r).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)

    async def vendors(self) -> list[tuple[str, str, datetime, datetime, int]]:
        """Vendor inventory over every record held: vendor, kind, first and last seen, count."""
        d, f = AuditDecision, AuditFinding
        seen = (func.min(d.occurred_at), func.max(d.occurred_at), func.sum(f.count))
        query = select(f.vendor, f.kind, *seen).join(d, f.decision_id == d.id)
        query = query.where(d.outcome == "delivered").group_by(f.vendor, f.kind)
        query = query.order_by(f.vendor, f.kind)
        async with self.db.session() as session:
            rows = (await session.execute(query)).all()
        return [(v, k, a, b, int(n)) for v, k, a, b, n in rows]


def _inserts() -> tuple[Any, Any, Any]:
    """Built once: a reused statement object keeps its SQLAlchemy cache key."""
    decisions = insert(AuditDecision).returning(AuditDecision.id, sort_by_parameter_order=True)
    return decisions, insert(AuditRecipient), insert(AuditFinding)


_INSERTS = _inserts()


def _insert_decisions(
    connection: Connection, records: Sequence[NewDecision], rows: list[dict[str, Any]]
) -> list[int]:
    """Decisions, then their recipients and findings: three executemany calls per batch."""
    result = connection.execute(_INSERTS[0], rows)
    ids = [row[0] for row in result.all()]
    pairs = list(zip(ids, records, strict=True))
    recipients = [{"decision_id": i, **_fit(AuditRecipient, vars(r))}
                  for i, record in pairs for r in record.recipients]
    findings = [{"decision_id": i, "count": n,
                 **_fit(AuditFinding, {"vendor": v, "kind": k, "action": a})}
                for i, record in pairs for v, k, a, n in record.findings]
    if recipients:
        connection.execute(_INSERTS[1], recipients)
    if findings:
        connection.execute(_INSERTS[2], findings)
    return ids


def _fit(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Cut strings to their column's length: an odd sender must not lose the whole record."""
    columns = model.__table__.c
    return {
        k: v[: columns[k].type.length]
        if isinstance(v, str) and getattr(columns[k].type, "length", None) else v
        for k, v in values.items()
    }


def _window_queries(since: datetime, until: datetime) -> dict[str, Any]:
    """Trackers and consent coverage count delivered transactions only: a deferred message
    comes back on retry and a suppressed duplicate was delivered before."""
    d, f, r = AuditDecision, AuditFinding, AuditRecipient
    inside = (d.occurred_at >= since, d.occurred_at < until)
    sent = (*inside, d.outcome == "delivered")
    finding_keys = (d.sender, d.sender_domain, f.vendor, f.kind, f.action)
    coverage_keys = (r.tld, r.open_status, r.click_status)
    return {
        "findings": select(*finding_keys, func.sum(f.count)).join(d, f.decision_id == d.id)
        .where(*sent).group_by(*finding_keys),
        "outcomes": select(d.treatment, d.outcome, func.count(), func.sum(d.recipient_count))
        .where(*inside).group_by(d.treatment, d.outcome),
        "coverage": select(*coverage_keys, func.count()).join(d, r.decision_id == d.id)
        .where(*sent).group_by(*coverage_keys),
        "flags": select(*(func.count().filter(getattr(d, n)) for n in FLAGS), func.count())
        .where(*inside),
        "flagged": select(d).where(*inside).where(d.uncleanable | d.store_unreachable)
        .order_by(d.id).limit(FLAG_LIMIT),
        "reloads": select(AuditReload).where(
            AuditReload.occurred_at >= since, AuditReload.occurred_at < until
        ).order_by(AuditReload.id),
    }


def _flagged(row: AuditDecision) -> dict[str, Any]:
    return {
        "time": row.occurred_at,
        "trace_id": row.trace_id,
        "sender": row.sender,
        "treatment": row.treatment,
        "outcome": row.outcome,
        "rule_id": row.rule_id,
        "uncleanable": row.uncleanable,
        "store_unreachable": row.store_unreachable,
    }
