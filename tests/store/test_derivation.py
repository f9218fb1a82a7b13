"""Current consent from ledger events: latest wins, objection beats consent, expiry ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.derivation import Fact, derive
from store.state import ConsentStatus

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def fact(
    state: str,
    minutes: int,
    *,
    method: str = "page",
    event_id: int = 0,
    expires_at: datetime | None = None,
    purpose: str = "open_tracking",
) -> Fact:
    at = T0 + timedelta(minutes=minutes)
    return Fact(purpose, state, at, event_id or minutes + 1, method, expires_at)


def status(*facts: Fact) -> ConsentStatus:
    return derive("a@example.com", facts, NOW).of("open_tracking").status


def test_nothing_on_record_is_unknown_and_not_granted() -> None:
    state = derive("a@example.com", [], NOW)
    assert state.of("open_tracking").status is ConsentStatus.UNKNOWN
    assert not state.granted("open_tracking")


def test_latest_event_wins() -> None:
    assert status(fact("granted", 0), fact("withdrawn", 5)) is ConsentStatus.WITHDRAWN
    assert status(fact("refused", 0), fact("granted", 5)) is ConsentStatus.GRANTED


def test_event_order_is_by_time_not_by_insertion() -> None:
    assert status(fact("withdrawn", 5), fact("granted", 0)) is ConsentStatus.WITHDRAWN


def test_objection_beats_a_grant_at_the_same_instant() -> None:
    assert status(fact("granted", 0, event_id=2), fact("objected", 0, event_id=1)) is (
        ConsentStatus.OBJECTED
    )


def test_objection_stays_in_force_after_a_later_refusal_or_withdrawal() -> None:
    assert status(fact("objected", 0), fact("withdrawn", 5)) is ConsentStatus.OBJECTED


def test_imported_grant_does_not_lift_an_objection() -> None:
    assert status(fact("objected", 0), fact("granted", 5, method="import")) is (
        ConsentStatus.OBJECTED
    )


def test_explicit_grant_after_an_objection_lifts_it() -> None:
    assert status(fact("objected", 0), fact("granted", 5, method="page")) is ConsentStatus.GRANTED


def test_expired_grant_is_no_consent_but_keeps_its_evidence() -> None:
    state = derive("a@example.com", [fact("granted", 0, expires_at=NOW - timedelta(days=1))], NOW)
    purpose = state.of("open_tracking")
    assert purpose.status is ConsentStatus.UNKNOWN
    assert not state.granted("open_tracking")
    assert purpose.event_id is not None and purpose.expires_at is not None


def test_grant_before_its_expiry_is_consent() -> None:
    state = derive("a@example.com", [fact("granted", 0, expires_at=NOW + timedelta(days=1))], NOW)
    assert state.granted("open_tracking")


def test_purposes_are_independent() -> None:
    state = derive(
        "a@example.com",
        [fact("granted", 0), fact("refused", 1, purpose="click_tracking")],
        NOW,
    )
    assert state.granted("open_tracking")
    assert state.of("click_tracking").status is ConsentStatus.REFUSED


def test_suppression_entry_acts_as_the_refusal_it_recorded() -> None:
    state = derive("a@example.com", [fact("objected", 0, method="suppression")], NOW)
    assert state.suppressed
    assert state.of("open_tracking").status is ConsentStatus.OBJECTED
