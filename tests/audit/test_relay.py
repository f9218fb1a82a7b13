"""Through the REAL relay and rewriting engine: records, report numbers, metrics, no clear text."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit_samples import HASH_KEY
from deciders import TableDecider
from relay_messages import ALICE, OUTGOING, PILOT, RECIPIENTS, SUBJECTS
from smtp_client import LineClient
from sqlalchemy.engine import make_url

from audit.metrics import MetricsObserver, TimedConsentCache
from audit.recorder import AuditRecorder
from audit.report import build_report
from policy.service import PolicyService
from rewriters.treatment import Action, Treatment
from store.audit import AuditStore
from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger


async def relay_all(relay_factory: Any, db: Database) -> tuple[AuditRecorder, MetricsObserver]:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    metrics = MetricsObserver()
    decider = TableDecider(by_recipient={"hal.private@example.com": Treatment(Action.REPORT)})
    harness = await relay_factory(observers=(recorder, metrics), decider=decider)
    client = await LineClient.connect(harness.port)
    assert (await client.cmd("EHLO client.test")).startswith("250")
    for n, message in enumerate(OUTGOING, start=1):
        assert (await client.cmd(f"MAIL FROM:<{message.sender}>")).startswith("250")
        for recipient in message.recipients:
            assert (await client.cmd(f"RCPT TO:<{recipient}>")).startswith("250")
        reply = await client.send_data(message.raw(n))
        assert reply.startswith("250"), reply
    await client.cmd("QUIT")
    await client.close()
    return recorder, metrics


async def test_report_numbers_after_relaying_tracked_mail(
    relay_factory: Any, upstream: Any, db: Database
) -> None:
    recorder, metrics = await relay_all(relay_factory, db)
    assert recorder.recorded == 5 and len(upstream.accepted) == 5
    assert b"mailtrack.io" not in upstream.accepted[0].content
    assert b"mailtrack.io" in upstream.accepted[4].content  # report mode forwards unchanged
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - timedelta(hours=1), now + timedelta(hours=1))
    assert report.section("vendors").rows == [
        ("Mailtrack", 3, 2, 0, 1),
        ("Mailchimp", 2, 1, 1, 0),
        ("HubSpot", 1, 0, 1, 0),
        ("HubSpot Sales", 1, 1, 0, 0),
    ]
    assert report.section("kinds").rows == [("open_pixel", 4, 3, 0, 1),
                                            ("click_wrapper", 3, 1, 2, 0)]
    assert [r[:5] for r in report.section("senders").rows] == [
        (ALICE, 4, 3, 1, 0), ("bob@news.acme.example", 2, 1, 1, 0), (PILOT, 1, 0, 0, 1)]
    assert report.section("outcomes").rows == [("strip", "delivered", 4, 5),
                                               ("report", "delivered", 1, 1)]
    assert report.totals["changed"] == 3 and report.totals["report_mode"] == 1
    coverage = {r[0]: r[1:] for r in report.section("coverage").rows}
    assert coverage["eu"] == (4, 0, 0, 0, 4, "0.0%")
    assert coverage["fr"][0] == 2 and coverage["other"][0] == 1
    value = metrics.registry.get_sample_value
    strip = {"treatment": "strip", "outcome": "delivered"}
    assert value("consent_relay_messages_total", strip) == 4
    assert value("consent_relay_trackers_total",
                 {"vendor": "Mailtrack", "kind": "open_pixel", "action": "removed"}) == 2
    assert value("consent_relay_upstream_seconds_count", {}) == 5


def _dump_postgres(url: str) -> bytes:
    parsed = make_url(url).set(drivername="postgresql")
    dsn = parsed.render_as_string(hide_password=False)
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(["pg_dump", "--no-owner", dsn], check=True, capture_output=True,
                          env=env, timeout=60).stdout


def _sqlite_bytes(url: str) -> bytes:
    path = Path(make_url(url).database or "")
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_no_recipient_address_or_subject_in_clear_anywhere_in_the_database(
    relay_factory: Any, upstream: Any, db: Database, db_url: str
) -> None:
    recorder, _ = await relay_all(relay_factory, db)
    assert recorder.recorded == 5
    hashes = [recorder.recipient_hash(r) for r in RECIPIENTS]
    await db.dispose()  # checkpoint the WAL into the file
    content = _sqlite_bytes(db_url) if db.is_sqlite else _dump_postgres(db_url)
    assert all(h.encode() in content for h in hashes)  # the records are there, hashed
    for needle in [*RECIPIENTS, *(r.partition("@")[0] for r in RECIPIENTS), *SUBJECTS]:
        for form in (needle, needle.lower(), needle.upper()):
            assert form.encode("utf-8") not in content, form
            assert form.encode("utf-16-le") not in content, form
    assert b"Body text only the recipient" not in content
    assert b"zqxmsgid" not in content  # Message-IDs are stored only as keyed hashes


PERMIT_POLICY = """version = 1
[default]
action = "strip"

[[rules]]
id = "consented-permit"
consent = "any_granted"
action = "permit"
"""


async def test_real_policy_and_ledger_consent_events_reach_the_record(
    relay_factory: Any, upstream: Any, db: Database, tmp_path: Path
) -> None:
    """Wired as serve.py does: TimedConsentCache -> PolicyService -> relay -> both observers."""
    ledger = Ledger(db, HASH_KEY)
    (event_id,) = await ledger.record("ann.private@example.fr", ["open_tracking"], "granted",
                                      method="page", text="Track my opens")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(PERMIT_POLICY)
    metrics = MetricsObserver()
    policy = PolicyService(policy_file, TimedConsentCache(ledger, 30.0, metrics))
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig(sender="domain"))
    harness = await relay_factory(observers=(recorder, metrics), decider=policy)
    client = await LineClient.connect(harness.port)
    await client.cmd("EHLO client.test")
    for n, message in enumerate(OUTGOING[:2], start=1):
        assert (await client.cmd(f"MAIL FROM:<{message.sender}>")).startswith("250")
        assert (await client.cmd(f"RCPT TO:<{message.recipients[0]}>")).startswith("250")
        assert (await client.send_data(message.raw(n))).startswith("250")
    await client.close()
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - timedelta(hours=1), now + timedelta(hours=1))
    assert report.section("outcomes").rows == [("permit", "delivered", 1, 1),
                                               ("strip", "delivered", 1, 1)]
    assert report.section("vendors").rows[0] == ("Mailtrack", 2, 1, 1, 0)
    assert report.section("senders").rows[0][0] == "sales.acme.example"  # domain only
    coverage = {r[0]: r[1:] for r in report.section("coverage").rows}
    assert coverage["fr"] == (1, 1, 1, 0, 0, "100.0%")
    (ann,) = await recorder.subject_records("ann.private@example.fr")
    assert (ann["rule_id"], ann["consent_event_ids"]) == ("consented-permit", str(event_id))
    assert ann["policy_version"] == policy.version
    lookups = metrics.registry.get_sample_value("consent_relay_consent_lookup_seconds_count")
    assert lookups is not None and lookups >= 2
