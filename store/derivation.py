"""From ledger events to current consent: the rules, in one pure function.

Rules (compliance.md, section 2):
- Events for one (recipient, purpose, controller) are replayed in time order (``occurred_at``,
  then id); on equal timestamps the stricter state is applied last, so it wins.
- The latest event wins, except that **an objection stays in force** until an *explicit* grant
  made after it (method ``page``, ``api`` or ``admin``): a later refusal or withdrawal leaves it
  reported as ``objected``, and an imported grant (``import``, e.g. a CRM sync) never lifts it.
- A grant whose ``expires_at`` has passed is no consent: status ``unknown``, with the expired
  grant's ``event_id`` and ``expires_at`` kept for the audit.
- A suppression entry (what survives an erasure) acts as a refusal/objection event at its
  creation time.
- Nothing on record is ``unknown``, which means no consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from store.state import ConsentState, ConsentStatus, PurposeState

EXPLICIT_METHODS = frozenset({"page", "api", "admin"})
SUPPRESSION = "suppression"
_RANK = {"granted": 0, "refused": 1, "withdrawn": 2, "objected": 3}


@dataclass(frozen=True)
class Fact:
    """The fields of an event (or suppression entry) that derivation needs."""

    purpose: str
    state: str
    occurred_at: datetime
    event_id: int | None
    method: str
    expires_at: datetime | None = None


def _order(fact: Fact) -> tuple[datetime, int, int]:
    return (fact.occurred_at, _RANK.get(fact.state, 0), fact.event_id or 0)


def current(facts: Iterable[Fact]) -> Fact | None:
    """The fact one purpose's state rests on, or None when nothing is on record."""
    objection = False
    result: Fact | None = None
    for fact in sorted(facts, key=_order):
        if fact.state == ConsentStatus.OBJECTED:
            objection, result = True, fact
        elif fact.state == ConsentStatus.GRANTED:
            if objection and fact.method not in EXPLICIT_METHODS:
                continue
            objection, result = False, fact
        elif not objection:
            result = fact
    return result


def purpose_state(fact: Fact | None, now: datetime) -> PurposeState:
    if fact is None:
        return PurposeState()
    status = ConsentStatus(fact.state)
    if status is ConsentStatus.GRANTED and fact.expires_at is not None and fact.expires_at <= now:
        status = ConsentStatus.UNKNOWN
    return PurposeState(
        status=status, since=fact.occurred_at, event_id=fact.event_id, expires_at=fact.expires_at
    )


def derive(recipient: str, facts: Iterable[Fact], now: datetime) -> ConsentState:
    """All purposes for one recipient; ``suppressed`` tells whether an erasure left a trace."""
    by_purpose: dict[str, list[Fact]] = {}
    suppressed = False
    for fact in facts:
        by_purpose.setdefault(fact.purpose, []).append(fact)
        suppressed = suppressed or fact.method == SUPPRESSION
    purposes = {p: purpose_state(current(f), now) for p, f in by_purpose.items()}
    return ConsentState(recipient=recipient, purposes=purposes, suppressed=suppressed)


def refresh(state: ConsentState, now: datetime) -> ConsentState:
    """Re-apply expiry to a cached state: a grant may have expired since it was derived."""
    expired = {
        p: PurposeState(ConsentStatus.UNKNOWN, s.since, s.event_id, s.expires_at)
        for p, s in state.purposes.items()
        if s.granted and s.expires_at is not None and s.expires_at <= now
    }
    if not expired:
        return state
    return ConsentState(
        recipient=state.recipient,
        purposes={**state.purposes, **expired},
        reachable=state.reachable,
        suppressed=state.suppressed,
    )
