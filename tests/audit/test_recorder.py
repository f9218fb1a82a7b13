"""Decision records hold what proves the decision, and nothing that would archive the mail."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

from audit_samples import HASH_KEY, delivery, finding, granted, sample, unreachable
from sqlalchemy import select

from audit.recorder import AuditRecorder, outcome_of
from rewriters.treatment import Action
from store.audit import AuditDecision, AuditFinding, AuditRecipient
from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger


async def rows(db: Database, model: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def test_one_record_per_transaction_with_rule_version_consent_and_findings(
    db: Database,
) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    item = delivery(5, "Bob@News.Acme.example", ["Fay@Example.FR"],
                    [finding("Mailchimp", "open_pixel", "kept"),
                     finding("Mailchimp", "click_wrapper", "kept"),
                     finding("Mailchimp", "click_wrapper", "kept")],
                    action=Action.DISCLOSE, rule="consented-disclose",
                    consent={"Fay@Example.FR": granted("fay@example.fr", 12, 11)})
    await recorder.delivered(item)
    (record,) = await rows(db, AuditDecision)
    assert (record.trace_id, record.treatment, record.rule_id, record.policy_version) == (
        "T0005", "disclose", "consented-disclose", "0123456789ab")
    assert (record.sender, record.sender_domain) == ("bob@news.acme.example", "news.acme.example")
    assert record.consent_event_ids == "11,12"
    assert (record.outcome, record.reply_code, record.recipient_count) == ("delivered", "250", 1)
    assert record.category == "marketing"
    assert item.message_id is not None
    expected_mid = hmac.new(HASH_KEY.encode(), b"message-id\0" + item.message_id.encode(),
                            hashlib.sha256).hexdigest()
    assert record.message_id_hash == expected_mid
    (recipient,) = await rows(db, AuditRecipient)
    assert recipient.address_hash == Ledger(db, HASH_KEY).address_hash("fay@example.fr")
    assert recipient.address is None
    assert (recipient.tld, recipient.open_status, recipient.click_status) == (
        "fr", "granted", "granted")
    found = [(f.vendor, f.kind, f.action, f.count) for f in await rows(db, AuditFinding)]
    assert found == [("Mailchimp", "click_wrapper", "kept", 2),
                     ("Mailchimp", "open_pixel", "kept", 1)]


async def test_flags_uncleanable_report_mode_unreachable_and_duplicate(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    for item in sample():
        await recorder.delivered(item)
    records = {r.trace_id: r for r in await rows(db, AuditDecision)}
    assert records["T0007"].uncleanable and not records["T0001"].uncleanable
    assert records["T0006"].report_mode and records["T0006"].treatment == "report"
    assert records["T0008"].store_unreachable
    assert [t for t, r in records.items() if r.store_unreachable] == ["T0008"]
    assert records["T0010"].duplicate_suppressed and records["T0010"].outcome == "duplicate"
    assert records["T0009"].outcome == "rejected" and records["T0009"].reply_code == "550"
    unreached = [r for r in await rows(db, AuditRecipient) if not r.reachable]
    assert len(unreached) == 1


async def test_sender_kept_as_domain_only_when_configured(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig(sender="domain"))
    await recorder.delivered(delivery(1, "alice@sales.acme.example", ["ann@example.fr"]))
    (record,) = await rows(db, AuditDecision)
    assert (record.sender, record.sender_domain) == ("sales.acme.example", "sales.acme.example")


async def test_clear_recipients_only_when_the_admin_turned_it_on(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig(clear_recipients=True))
    await recorder.delivered(delivery(1, "a@acme.example", ["Ann@Example.FR"]))
    (recipient,) = await rows(db, AuditRecipient)
    assert recipient.address == "ann@example.fr"


async def test_disabled_audit_records_nothing(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig(enabled=False))
    await recorder.delivered(delivery(1, "a@acme.example", ["ann@example.fr"]))
    await recorder.policy_event("loaded", "v1")
    assert await rows(db, AuditDecision) == []
    assert recorder.recorded == 0


def test_hashes_are_keyed_so_another_key_cannot_match_them() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    ours, theirs = AuditRecorder(db, HASH_KEY, AuditConfig()), AuditRecorder(
        db, "other-key", AuditConfig())
    assert ours.recipient_hash("ann@example.fr") == ours.recipient_hash("ANN@example.FR")
    assert ours.recipient_hash("ann@example.fr") != theirs.recipient_hash("ann@example.fr")
    assert ours.recipient_hash("ann@example.fr") != hashlib.sha256(b"ann@example.fr").hexdigest()
    assert ours.message_id_hash("<a@b>") != theirs.message_id_hash("<a@b>")
    assert ours.message_id_hash(None) is None
    assert len(ours.recipient_hash("not an address")) == 64


def test_outcome_names() -> None:
    assert outcome_of(delivery(1, "a@b.example", ["c@d.example"])) == "delivered"
    assert outcome_of(delivery(1, "a@b.example", ["c@d.example"], reply="451 4.3.0 x")) == (
        "deferred")
    assert outcome_of(delivery(1, "a@b.example", ["c@d.example"], reply="554 5.6.0 x")) == (
        "rejected")
    assert unreachable("x@y.example")["x@y.example"].reachable is False


async def test_subject_access_finds_a_recipients_records_by_hash(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    for item in sample():
        await recorder.delivered(item)
    records = await recorder.subject_records("ANN@example.fr")
    assert [(r["trace_id"], r["outcome"], r["rule_id"]) for r in records] == [
        ("T0001", "delivered", "default"), ("T0010", "duplicate", "default")]
    assert records[0]["open_tracking"] == "unknown"
    assert await recorder.subject_records("nobody@example.fr") == []


async def test_overlong_values_are_cut_to_their_columns_not_dropped(db: Database) -> None:
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    sender = "x" * 300 + "@" + "d" * 250 + ".example"
    item = delivery(1, sender, ["ann@example.fr"], [finding("Mailtrack", "open_pixel", "removed")])
    item.findings[0] = replace(item.findings[0], vendor="V" * 100)
    await recorder.delivered(item)
    (record,) = await rows(db, AuditDecision)
    assert len(record.sender) == 320 and len(record.sender_domain) == 255
    (found,) = await rows(db, AuditFinding)
    assert found.vendor == "V" * 64
