"""Report numbers, exactly, for the hand-checked SAMPLE (see audit_samples.py)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from audit_samples import HASH_KEY, delivery, finding, sample

from audit.html import as_html
from audit.recorder import AuditRecorder
from audit.report import as_csv, as_json, as_table, build_report, parse_since
from store.audit import AuditStore
from store.config import AuditConfig
from store.db import Database

HOUR = timedelta(hours=1)


async def recorded(db: Database) -> AuditRecorder:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    for item in sample():
        await recorder.delivered(item)
    await recorder.policy_event("loaded", "0123456789ab")
    await recorder.policy_event("reload_failed", "0123456789ab", "policy.toml:3: bad action")
    return recorder


async def test_trackers_by_vendor_kind_sender_and_domain(db: Database) -> None:
    await recorded(db)
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - HOUR, now + HOUR)
    # (name, found, removed, kept, reported): delivered transactions only
    assert report.section("vendors").rows == [
        ("Mailchimp", 7, 4, 3, 0),
        ("Mailtrack", 4, 3, 0, 1),
        ("HubSpot", 3, 2, 1, 0),
    ]
    assert report.section("kinds").rows == [
        ("click_wrapper", 7, 5, 2, 0),
        ("open_pixel", 7, 4, 2, 1),
    ]
    assert report.section("senders").rows == [
        ("bob@news.acme.example", 7, 4, 3, 0, "Mailchimp 7"),
        ("alice@sales.acme.example", 5, 5, 0, 0, "HubSpot 2, Mailtrack 3"),
        ("dave@pilot.acme.example", 1, 0, 0, 1, "Mailtrack 1"),
        ("erin@acme.example", 1, 0, 1, 0, "HubSpot 1"),
    ]
    assert report.section("domains").rows == [
        ("news.acme.example", 7, 4, 3, 0),
        ("sales.acme.example", 5, 5, 0, 0),
        ("acme.example", 1, 0, 1, 0),
        ("pilot.acme.example", 1, 0, 0, 1),
    ]


async def test_treatments_outcomes_flags_and_totals(db: Database) -> None:
    await recorded(db)
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - HOUR, now + HOUR)
    assert report.section("outcomes").rows == [
        ("strip", "delivered", 6, 7),
        ("disclose", "delivered", 1, 1),
        ("report", "delivered", 1, 1),
        ("strip", "duplicate", 1, 1),
        ("strip", "rejected", 1, 1),
    ]
    assert report.totals == {
        "changed": 5,
        "uncleanable": 1,
        "report_mode": 1,
        "store_unreachable": 1,
        "duplicate_suppressed": 1,
        "messages": 10,
        "trackers_found": 14,
        "trackers_removed": 9,
        "policy_reload_failures": 1,
    }
    flagged = report.section("flagged").rows
    assert [(r[1], r[2], r[5]) for r in flagged] == [
        ("T0007", "erin@acme.example", "uncleanable"),
        ("T0008", "frank@acme.example", "store unreachable"),
    ]
    assert [(r[1], r[3]) for r in report.section("reloads").rows] == [
        ("loaded", ""),
        ("reload_failed", "policy.toml:3: bad action"),
    ]


async def test_consent_coverage_by_jurisdiction_profile(db: Database) -> None:
    await recorded(db)
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - HOUR, now + HOUR)
    rows = {r[0]: r[1:] for r in report.section("coverage").rows}
    # (recipients, any granted, open granted, click granted, no consent, coverage)
    assert rows["eu"] == (6, 1, 1, 1, 5, "16.7%")
    assert rows["eea"] == (6, 1, 1, 1, 5, "16.7%")
    assert rows["fr"] == (3, 1, 1, 1, 2, "33.3%")
    assert rows["de"] == (2, 0, 0, 0, 2, "0.0%")
    assert rows["it"] == (1, 0, 0, 0, 1, "0.0%")
    assert rows["uk"] == (1, 0, 0, 0, 1, "0.0%")
    assert rows["other"] == (2, 0, 0, 0, 2, "0.0%")
    assert report.section("coverage").rows[-1][0] == "other"


async def test_since_leaves_out_older_records(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    old = recorder.record_of(delivery(1, "old@acme.example", ["x@example.fr"],
                                      [finding("Mailtrack", "open_pixel", "removed")]))
    now = datetime.now(UTC)
    await recorder.store.add(replace(old, occurred_at=now - timedelta(days=10)))
    await recorder.delivered(delivery(2, "new@acme.example", ["y@example.fr"]))
    report = await build_report(AuditStore(db), parse_since("7d", now), now + HOUR)
    assert report.totals["messages"] == 1
    assert report.section("vendors").rows == []
    report = await build_report(AuditStore(db), parse_since("2w", now), now + HOUR)
    assert report.totals["messages"] == 2
    assert report.section("vendors").rows == [("Mailtrack", 1, 1, 0, 0)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_csv_json_and_table_carry_the_same_numbers(db: Database) -> None:
    await recorded(db)
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - HOUR, now + HOUR)
    data = json.loads(as_json(report))
    assert data["vendors"][0] == {"vendor": "Mailchimp", "found": 7, "removed": 4, "kept": 3,
                                  "reported": 0}
    assert data["totals"]["trackers_removed"] == 9
    rows = list(csv.DictReader(io.StringIO(as_csv(report))))
    cell = {(r["section"], r["item"], r["measure"]): r["value"] for r in rows}
    assert cell["vendors", "Mailtrack", "found"] == "4"
    assert cell["outcomes", "strip/delivered", "recipients"] == "7"
    assert cell["coverage", "fr", "any_granted"] == "1"
    assert cell["totals", "all", "messages"] == "10"
    text = as_table(report)
    assert "Trackers by sender" in text
    assert "alice@sales.acme.example  5      5" in text


def test_since_accepts_durations_and_dates() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parse_since("24h", now) == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_since("2w", now) == datetime(2026, 11, 15, 12, tzinfo=UTC)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"expected e\.g\. 7d"):
        parse_since("last week", now)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_empty_period_renders_in_every_format(db: Database) -> None:
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - HOUR, now)
    assert report.totals["messages"] == 0
    assert "(none)" in as_table(report)
    assert json.loads(as_json(report))["vendors"] == []
    assert as_csv(report).count("\n") == 1 + len(report.totals)
    page = as_html(report)
    assert "None in this period." in page and 'class="chart"' not in page


def test_since_too_far_back_is_an_argument_error() -> None:
    with pytest.raises(ValueError, match="too far back"):
        parse_since("99999999999d", datetime.now(UTC))
