"""Audit trail: decision records, their recipients (keyed hashes) and findings, policy reloads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _child(name: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["audit_decisions.id"],
            name=f"fk_{name}_decision_id_audit_decisions",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{name}_decision_id", name, ["decision_id"])


def upgrade() -> None:
    op.create_table(
        "audit_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("message_id_hash", sa.String(64), nullable=True),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("sender_domain", sa.String(255), nullable=False),
        sa.Column("treatment", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reply_code", sa.String(3), nullable=False),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("consent_event_ids", sa.Text(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("uncleanable", sa.Boolean(), nullable=False),
        sa.Column("report_mode", sa.Boolean(), nullable=False),
        sa.Column("store_unreachable", sa.Boolean(), nullable=False),
        sa.Column("duplicate_suppressed", sa.Boolean(), nullable=False),
        sa.Column("rewrite_ms", sa.Float(), nullable=False),
        sa.Column("upstream_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_decisions"),
    )
    op.create_index("ix_audit_decisions_occurred_at", "audit_decisions", ["occurred_at"])
    _child(
        "audit_recipients",
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("tld", sa.String(63), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False),
        sa.Column("open_status", sa.String(16), nullable=False),
        sa.Column("click_status", sa.String(16), nullable=False),
        sa.Column("consent_event_ids", sa.Text(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_audit_recipients_address_hash", "audit_recipients", ["address_hash"])
    _child(
        "audit_findings",
        sa.Column("vendor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "audit_reloads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_reloads"),
    )
    op.create_index("ix_audit_reloads_occurred_at", "audit_reloads", ["occurred_at"])


def downgrade() -> None:
    op.drop_table("audit_reloads")
    op.drop_table("audit_findings")
    op.drop_table("audit_recipients")
    op.drop_table("audit_decisions")
