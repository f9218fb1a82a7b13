"""The consent ledger on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from store.addresses import AddressError
from store.db import Database
from store.events import NewEvent
from store.ledger import Ledger
from store.state import ConsentStatus

OPEN, CLICK = "open_tracking", "click_tracking"


async def test_grant_is_seen_under_any_spelling_of_the_address(ledger: Ledger) -> None:
    await ledger.record("Ann@Example.COM", [OPEN, CLICK], "granted", method="page")
    state = await ledger.state("ann@EXAMPLE.com")
    assert state.recipient == "ann@example.com"
    assert state.granted(OPEN) and state.granted(CLICK)


async def test_unknown_recipient_has_no_consent(ledger: Ledger) -> None:
    state = await ledger.state("nobody@example.com")
    assert state.purposes == {} and not state.granted(OPEN)


async def test_withdrawal_ends_consent(ledger: Ledger) -> None:
    await ledger.record("a@example.com", [OPEN], "granted", method="page")
    await ledger.record("a@example.com", [OPEN], "withdrawn", method="page")
    assert (await ledger.state("a@example.com")).of(OPEN).status is ConsentStatus.WITHDRAWN


async def test_objection_beats_a_later_imported_grant(ledger: Ledger) -> None:
    await ledger.record("a@example.com", [OPEN], "objected", method="api")
    await ledger.record("a@example.com", [OPEN], "granted", method="import", source_id="crm-1")
    assert (await ledger.state("a@example.com")).of(OPEN).status is ConsentStatus.OBJECTED


async def test_expired_grant_gives_no_consent(ledger: Ledger) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    await ledger.record("a@example.com", [OPEN], "granted", method="page", expires_at=past)
    assert not (await ledger.state("a@example.com")).granted(OPEN)


async def test_states_for_a_batch_take_one_query(ledger: Ledger, db: Database) -> None:
    for name in ("a", "b", "c"):
        await ledger.record(f"{name}@example.com", [OPEN], "granted", method="admin")
    await ledger.erase("c@example.com")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    for engine in db.sync_engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        states = await ledger.states(["A@example.com", "b@example.com", "c@example.com", "d@x.org"])
    finally:
        for engine in db.sync_engines:
            event.remove(engine, "before_cursor_execute", count)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements
    assert len(statements) == 1
    assert set(states) == {"a@example.com", "b@example.com", "c@example.com", "d@x.org"}
    assert states["a@example.com"].granted(OPEN) and not states["d@x.org"].granted(OPEN)


async def test_consent_is_per_controller(db: Database) -> None:
    await Ledger(db, "k", "acme").record("a@example.com", [OPEN], "granted", method="page")
    assert not (await Ledger(db, "k", "other").state("a@example.com")).granted(OPEN)


async def test_evidence_is_kept_with_a_hash_of_the_text_shown(ledger: Ledger) -> None:
    text = "I agree that Acme counts when I open its newsletter."
    await ledger.record(
        "a@example.com",
        [OPEN],
        "granted",
        method="page",
        text_version="v3",
        text=text,
        language="fr",
        policy_version="abc123",
        actor="web",
        ip="192.0.2.1",
    )
    (row,) = await ledger.history("a@example.com")
    assert row.text_hash == hashlib.sha256(text.encode()).hexdigest()
    assert (row.text_version, row.language, row.policy_version) == ("v3", "fr", "abc123")
    assert row.ip is None  # IP addresses are kept only when configured
    assert row.occurred_at.tzinfo is not None and row.occurred_at.utcoffset() == timedelta(0)


async def test_ip_is_kept_when_configured(db: Database) -> None:
    ledger = Ledger(db, "k", keep_ip=True)
    await ledger.record("a@example.com", [OPEN], "granted", method="page", ip="192.0.2.1")
    assert (await ledger.history("a@example.com"))[0].ip == "192.0.2.1"


async def test_bad_purpose_state_or_method_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="purpose"):
        await ledger.record("a@example.com", ["profiling"], "granted", method="page")
    with pytest.raises(ValueError, match="state"):
        await ledger.record("a@example.com", [OPEN], "maybe", method="page")
    with pytest.raises(ValueError, match="method"):
        await ledger.record("a@example.com", [OPEN], "granted", method="guess")
    with pytest.raises(AddressError):
        await ledger.record("not an address", [OPEN], "granted", method="page")
    assert await ledger.history("a@example.com") == []


async def test_erasure_keeps_a_refusal_as_a_keyed_hash_only(ledger: Ledger) -> None:
    await ledger.record("a@example.com", [OPEN, CLICK], "granted", method="page")
    await ledger.record("a@example.com", [OPEN], "objected", method="page")
    receipt = await ledger.erase("A@example.com")
    assert receipt.events_deleted == 3
    assert receipt.suppressed == (("acme", OPEN, "objected"),)
    assert "example.com" not in receipt.address_hash
    assert await ledger.history("a@example.com") == []
    state = await ledger.state("a@example.com")
    assert state.suppressed
    assert state.of(OPEN).status is ConsentStatus.OBJECTED
    assert not state.granted(CLICK)  # a grant is not kept: erased means no consent


async def test_explicit_grant_after_erasure_is_honoured(ledger: Ledger) -> None:
    await ledger.record("a@example.com", [OPEN], "refused", method="page")
    await ledger.erase("a@example.com")
    await ledger.record("a@example.com", [OPEN], "granted", method="page")
    assert (await ledger.state("a@example.com")).granted(OPEN)


async def test_export_holds_everything_about_the_address(ledger: Ledger) -> None:
    await ledger.record("a@example.com", [OPEN], "granted", method="page", text_version="v1")
    data = await ledger.export("A@EXAMPLE.COM")
    assert data["schema_version"] == 1 and data["address"] == "a@example.com"
    assert data["events"][0]["text_version"] == "v1"
    assert data["state"] == {OPEN: "granted"} and data["suppressed"] is False


async def test_bulk_insert_is_all_or_nothing(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    good = NewEvent("a@example.com", OPEN, "granted", "import", now, "acme", source_id="1")
    bad = NewEvent("b@example.com", OPEN, "granted", "telepathy", now, "acme")
    with pytest.raises(ValueError):
        await ledger.insert_many([good, bad])
    assert await ledger.history("a@example.com") == []
    assert await ledger.insert_many([good]) == 1


async def test_iter_all_pages_through_every_event(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    events = [
        NewEvent(f"u{i}@example.com", OPEN, "granted", "import", now, "acme") for i in range(25)
    ]
    await ledger.insert_many(events)
    seen = [e.recipient async for e in ledger.iter_all(batch=10)]
    assert seen == [e.recipient for e in events]
