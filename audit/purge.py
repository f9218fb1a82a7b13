"""Retention: delete what is older than its table's period, daily inside the server.

Periods come from ``[audit]`` (documented defaults in docs/audit.md). Consent evidence follows
its own rule: the ledger events of an address go only when *every* purpose of it ended
(refused, withdrawn, objected, or a grant expired) more than ``consent_evidence_days`` ago; an
active grant keeps all of its evidence. The erasure goes through :meth:`Ledger.erase`, which
leaves a keyed-hash suppression entry so a refusal or objection survives its evidence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger
from store.retention import Retention
from store.tracking import TrackingStore

log = logging.getLogger("consent_relay.audit")
Progress = Callable[[str, int], None]
CONSENT_TABLE = "consent_events"


def cutoffs(config: AuditConfig, now: datetime) -> dict[str, datetime]:
    """Per table: rows older than this go."""
    return {
        "audit_decisions": now - timedelta(days=config.retention_days),
        "audit_reloads": now - timedelta(days=config.reload_days),
        "delivery_journal": now - timedelta(days=config.journal_days),
        CONSENT_TABLE: now - timedelta(days=config.consent_evidence_days),
    }


async def _purge_evidence(
    db: Database, hash_key: str, cutoff: datetime, dry_run: bool, progress: Progress | None
) -> int:
    stale = await Retention(db).stale_consent(cutoff)
    if dry_run:
        return sum(stale.values())
    ledger, store = Ledger(db, hash_key), Retention(db)
    removed = 0
    for done, address in enumerate(sorted(stale), start=1):
        if not await store.stale_consent(cutoff, [address]):
            continue  # a new event arrived since the scan: keep everything
        removed += (await ledger.erase(address)).events_deleted
        if progress is not None and done % 100 == 0:
            progress(CONSENT_TABLE, removed)
    return removed


async def purge(
    db: Database,
    config: AuditConfig,
    dry_run: bool = False,
    *,
    hash_key: str,
    now: datetime | None = None,
    progress: Progress | None = None,
    tracking_days: int | None = None,
) -> dict[str, int]:
    """Delete (or, with ``dry_run``, only count) expired rows; returns rows per table.

    ``hash_key`` is ``[store] hash_key``: the suppression entries left by consent evidence
    erasure must use the ledger's key. ``progress(table, count)`` is told as tables finish.
    """
    limits = cutoffs(config, now or datetime.now(UTC))
    counts = await Retention(db).purge(limits, dry_run)
    if progress is not None:
        for table, count in counts.items():
            progress(table, count)
    counts[CONSENT_TABLE] = await _purge_evidence(
        db, hash_key, limits[CONSENT_TABLE], dry_run, progress
    )
    if progress is not None:
        progress(CONSENT_TABLE, counts[CONSENT_TABLE])
    if tracking_days is not None and not dry_run:  # routed-tracker measurements (issue 6)
        counts["tracking"] = await TrackingStore(db).purge(timedelta(days=tracking_days))
    event = "audit_purge_planned" if dry_run else "audit_purged"
    log.info(event, extra={"event": event, "dry_run": dry_run, **counts})
    return counts


def seconds_until(hour: int, now: datetime) -> float:
    """Seconds from ``now`` to the next ``hour``:00 UTC (a quiet hour for the store)."""
    target = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def purge_daily(
    db: Database, config: AuditConfig, *, hash_key: str, run_at_start: bool = True,
    tracking_days: int | None = None,
) -> None:
    """Server task: purge once at start, then every day at ``[audit] purge_hour`` UTC.

    A failed run is logged and retried the next day; cancel the task to stop it.
    """
    if run_at_start:
        await _safe_purge(db, config, hash_key, tracking_days)
    while True:
        await asyncio.sleep(seconds_until(config.purge_hour, datetime.now(UTC)))
        await _safe_purge(db, config, hash_key, tracking_days)


async def _safe_purge(
    db: Database, config: AuditConfig, hash_key: str, tracking_days: int | None
) -> None:
    try:
        await purge(db, config, hash_key=hash_key, tracking_days=tracking_days)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("audit_purge_failed", extra={"event": "audit_purge_failed"})
