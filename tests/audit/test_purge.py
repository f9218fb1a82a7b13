"""Retention: per-table periods, dry runs, consent evidence kept for its own period."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from audit_samples import HASH_KEY, delivery, finding, sample
from sqlalchemy import column, func, insert, select, table

from audit.purge import purge, purge_daily, seconds_until
from audit.recorder import AuditRecorder
from store.audit import AuditDecision, AuditReload
from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger
from store.models import UTCDateTime

DAY = timedelta(days=1)
JOURNAL = table("delivery_journal", column("key"), column("delivered_at", UTCDateTime()))


async def count(db: Database, model: object) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


async def seed_records(db: Database, now: datetime) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    for item in sample():
        await recorder.delivered(item)
    old = recorder.record_of(delivery(99, "old@acme.example", ["x@example.fr"],
                                      [finding("Mailtrack", "open_pixel", "removed")]))
    await recorder.store.add(replace(old, occurred_at=now - 400 * DAY))
    await recorder.policy_event("loaded", "v1")
    async with db.session() as session, session.begin():
        await session.execute(insert(JOURNAL), [
            {"key": "a" * 64, "delivered_at": now - 8 * DAY},
            {"key": "b" * 64, "delivered_at": now - DAY},
        ])


async def test_dry_run_counts_and_the_real_run_deletes_the_same(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    await seed_records(db, now)
    expected = {"audit_findings": 1, "audit_recipients": 1, "audit_decisions": 1,
                "audit_reloads": 0, "delivery_journal": 1, "consent_events": 0}
    planned = await purge(db, AuditConfig(), True, hash_key=HASH_KEY, now=now)
    assert planned == expected
    assert await count(db, AuditDecision) == 11
    assert await count(db, JOURNAL) == 2
    caplog.set_level(logging.INFO, logger="consent_relay.audit")
    assert await purge(db, AuditConfig(), hash_key=HASH_KEY, now=now) == expected
    assert await count(db, AuditDecision) == 10
    assert await count(db, JOURNAL) == 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "audit_purged"]
    assert logged.audit_decisions == 1 and logged.dry_run is False  # type: ignore[attr-defined]
    assert await purge(db, AuditConfig(), hash_key=HASH_KEY, now=now) == dict.fromkeys(expected, 0)


async def test_each_table_has_its_own_period(db: Database) -> None:
    now = datetime.now(UTC)
    await seed_records(db, now)
    config = AuditConfig(retention_days=1000, reload_days=30, journal_days=1)
    later = now + 40 * DAY
    counts = await purge(db, config, hash_key=HASH_KEY, now=later)
    assert counts["audit_decisions"] == 0
    assert counts["audit_reloads"] == 1
    assert counts["delivery_journal"] == 2
    assert await count(db, AuditReload) == 0


async def test_consent_evidence_goes_only_after_its_own_period_and_leaves_a_suppression(
    db: Database,
) -> None:
    now = datetime.now(UTC)
    ledger = Ledger(db, HASH_KEY, "acme")
    both = ["open_tracking", "click_tracking"]

    def years(n: int) -> datetime:
        return now - n * 365 * DAY

    await ledger.record("old@example.fr", both, "granted", method="page", occurred_at=years(7))
    await ledger.record("old@example.fr", both, "withdrawn", method="page", occurred_at=years(6))
    await ledger.record("recent@example.fr", both, "granted", method="page", occurred_at=years(7))
    await ledger.record("recent@example.fr", both, "withdrawn", method="page", occurred_at=years(1))
    await ledger.record("loyal@example.fr", both, "granted", method="page", occurred_at=years(7))
    await ledger.record("expired@example.fr", ["open_tracking"], "granted", method="api",
                        occurred_at=years(7), expires_at=years(6))
    await ledger.record("mixed@example.fr", ["open_tracking"], "refused", method="page",
                        occurred_at=years(6))
    await ledger.record("mixed@example.fr", ["click_tracking"], "granted", method="page",
                        occurred_at=years(6))
    await ledger.record("objector@example.fr", ["open_tracking"], "objected", method="admin",
                        occurred_at=years(6))
    config = AuditConfig()  # 1825 days
    planned = await purge(db, config, True, hash_key=HASH_KEY, now=now)
    assert planned["consent_events"] == 6  # old 4 + expired 1 + objector 1
    assert len(await ledger.history("old@example.fr")) == 4
    done = await purge(db, config, hash_key=HASH_KEY, now=now)
    assert done["consent_events"] == 6
    for gone in ("old@example.fr", "expired@example.fr", "objector@example.fr"):
        assert await ledger.history(gone) == []
    for kept, events in (("recent@example.fr", 4), ("loyal@example.fr", 2),
                         ("mixed@example.fr", 2)):
        assert len(await ledger.history(kept)) == events
    old = await ledger.state("old@example.fr")
    assert old.suppressed and old.of("open_tracking").status.value == "withdrawn"
    assert (await ledger.state("objector@example.fr")).of("open_tracking").status.value == (
        "objected")
    expired = await ledger.state("expired@example.fr")
    assert not expired.suppressed and not expired.granted("open_tracking")
    assert (await ledger.state("loyal@example.fr")).granted("click_tracking")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_daily_task_purges_at_start_and_logs_counts(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="consent_relay.audit")
    await seed_records(db, datetime.now(UTC))
    task = asyncio.create_task(purge_daily(db, AuditConfig(), hash_key=HASH_KEY))
    for _ in range(100):
        if any(r.getMessage() == "audit_purged" for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (logged,) = [r for r in caplog.records if r.getMessage() == "audit_purged"]
    assert logged.audit_decisions == 1  # type: ignore[attr-defined]
    assert await count(db, AuditDecision) == 10


def test_next_run_is_at_the_configured_utc_hour() -> None:
    now = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)
    assert seconds_until(3, now) == 9.5 * 3600
    assert seconds_until(18, now) == 1800
