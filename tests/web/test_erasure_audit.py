"""Erasure through the admin API also removes the address's audit references."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from store.audit import AuditStore, NewDecision, NewRecipient
from store.ledger import Ledger
from store.tracking import EventRow, TrackingStore
from web.services import WebServices

API = "/admin/api"
ANN = "ann@example.com"


def record_about(address_hash: str, version: str) -> NewDecision:
    return NewDecision(
        trace_id="t-erase", message_id_hash=None, sender="sales@example.org",
        sender_domain="example.org", treatment="strip", rule_id="default",
        policy_version=version, category=None, outcome="delivered", reply_code="250",
        consent_event_ids="", flags={"changed": True},
        recipients=[NewRecipient(address_hash, "com", "default", "unknown", "unknown")],
        findings=[("mailtrack", "open_pixel", "removed", 1)],
    )


async def test_erasure_removes_audit_references_and_keeps_the_decision_counts(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger, services: WebServices
) -> None:
    audit = AuditStore(services.db)
    services.audit = audit
    await ledger.record(ANN, ["open_tracking"], "refused", method="api")
    address_hash = ledger.address_hash(ANN)
    await audit.add(record_about(address_hash, services.policy.version))
    assert len(await audit.recipient_records(address_hash)) == 1

    receipt = (await client.post(f"{API}/subjects/{ANN}/erase", headers=admin)).json()

    assert receipt["audit_references_removed"] == 1
    assert await audit.recipient_records(address_hash) == []
    window = await client.get(
        f"{API}/decisions", params={"since": "2020-01-01T00:00:00+00:00"}, headers=admin
    )
    assert window.json()["flags"]["messages"] == 1


async def test_export_lists_and_erasure_removes_routed_tracking_events(
    client: httpx.AsyncClient, admin: dict[str, str], services: WebServices
) -> None:
    tracking = TrackingStore(services.db)
    opened = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    await tracking.write({}, [EventRow(ANN, "trace-1", "open_tracking", opened)],
                         {ANN: opened.date()})
    exported = (await client.get(f"{API}/subjects/{ANN}/export", headers=admin)).json()
    assert exported["tracking"]["last_open"] == "2026-11-20"
    assert exported["tracking"]["tracking_events"][0]["message_ref"] == "trace-1"

    receipt = (await client.post(f"{API}/subjects/{ANN}/erase", headers=admin)).json()

    assert receipt["tracking_events_removed"] == 2
    assert await tracking.export(ANN) == {"tracking_events": [], "last_open": None}
