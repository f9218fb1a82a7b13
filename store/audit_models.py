"""The audit tables (ORM models). Queries and writes live in :mod:`store.audit`, which
re-exports these names; what each column may hold is explained there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, utcnow


class AuditDecision(Base):
    """One row per DATA outcome; ``outcome`` is delivered, duplicate, deferred or rejected."""

    __tablename__ = "audit_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    trace_id: Mapped[str] = mapped_column(String(64))
    message_id_hash: Mapped[str | None] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(320))
    sender_domain: Mapped[str] = mapped_column(String(255))
    treatment: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(128))
    policy_version: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    reply_code: Mapped[str] = mapped_column(String(3))
    recipient_count: Mapped[int] = mapped_column(Integer)
    consent_event_ids: Mapped[str] = mapped_column(Text, default="")
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    uncleanable: Mapped[bool] = mapped_column(Boolean, default=False)
    report_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    store_unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    rewrite_ms: Mapped[float] = mapped_column(Float, default=0.0)
    upstream_ms: Mapped[float] = mapped_column(Float, default=0.0)


class AuditRecipient(Base):
    """One recipient of a decision: keyed hash, TLD, the rule and consent that applied."""

    __tablename__ = "audit_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("audit_decisions.id", ondelete="CASCADE"), index=True
    )
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(320))
    tld: Mapped[str] = mapped_column(String(63))
    rule_id: Mapped[str] = mapped_column(String(128))
    open_status: Mapped[str] = mapped_column(String(16))
    click_status: Mapped[str] = mapped_column(String(16))
    consent_event_ids: Mapped[str] = mapped_column(Text, default="")
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditFinding(Base):
    """Trackers of one decision, aggregated: (vendor, kind, action) and how many."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(
        ForeignKey("audit_decisions.id", ondelete="CASCADE"), index=True
    )
    vendor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class AuditReload(Base):
    """Policy loaded at start, reloaded, or a reload refused (the old policy kept running)."""

    __tablename__ = "audit_reloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
