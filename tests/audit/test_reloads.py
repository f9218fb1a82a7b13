"""Policy loads and reloads land in the audit trail and the metrics (real PolicyService)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_samples import HASH_KEY

from audit.metrics import MetricsObserver
from audit.recorder import AuditRecorder
from audit.reloads import ReloadTracker
from audit.report import build_report
from policy.service import PolicyService
from store.audit import AuditStore
from store.cache import ConsentCache
from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger

GOOD = 'version = 1\n[default]\naction = "strip"\n'
BETTER = 'version = 1\n[default]\naction = "strip"\nopaque_links = "text"\n'
BAD = 'version = 1\n[default]\naction = "track-everyone"\n'


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_loaded_reloaded_and_refused_reloads_are_recorded(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    service = PolicyService(path, ConsentCache(Ledger(db, HASH_KEY)))
    first = service.version
    metrics = MetricsObserver()
    tracker = ReloadTracker(service, AuditRecorder(db, HASH_KEY, AuditConfig()), metrics)
    task = asyncio.create_task(tracker.watch(interval=0.02))
    await asyncio.sleep(0.05)
    path.write_text(BETTER)
    assert service.reload()
    await asyncio.sleep(0.1)
    path.write_text(BAD)
    assert not service.reload()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - timedelta(hours=1), now)
    rows = report.section("reloads").rows
    assert [(r[1], r[2]) for r in rows] == [
        ("loaded", first), ("reloaded", service.version), ("reload_failed", service.version)]
    assert service.version != first
    assert "track-everyone" in rows[2][3] or "action" in rows[2][3]
    assert report.totals["policy_reload_failures"] == 1
    registry = metrics.registry
    assert registry.get_sample_value("consent_relay_policy_reloads_total", {"result": "ok"}) == 1
    assert registry.get_sample_value(
        "consent_relay_policy_reloads_total", {"result": "failed"}) == 1
