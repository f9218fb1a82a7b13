"""Consent as the rest of the product sees it: derived, read-only, no SQLAlchemy here.

Produced by the store from the append-only ledger; consumed by the policy at RCPT time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ConsentStatus(StrEnum):
    """Ledger event states plus ``unknown`` (nothing on record, which means no consent)."""

    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    OBJECTED = "objected"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PurposeState:
    """Current state for one purpose, with the ledger event it rests on (for the audit)."""

    status: ConsentStatus = ConsentStatus.UNKNOWN
    since: datetime | None = None
    event_id: int | None = None
    expires_at: datetime | None = None

    @property
    def granted(self) -> bool:
        return self.status is ConsentStatus.GRANTED


@dataclass(frozen=True)
class ConsentState:
    """All purposes for one recipient (normalised address) and controller.

    ``reachable`` is False when the store could not be asked: every purpose is then unknown
    (fail closed) and the audit flags the decision.
    """

    recipient: str
    purposes: dict[str, PurposeState] = field(default_factory=dict)
    reachable: bool = True
    suppressed: bool = False

    def of(self, purpose: str) -> PurposeState:
        return self.purposes.get(purpose, PurposeState())

    def granted(self, purpose: str) -> bool:
        return self.reachable and self.of(purpose).granted

    @property
    def event_ids(self) -> tuple[int, ...]:
        return tuple(s.event_id for s in self.purposes.values() if s.event_id is not None)

    @classmethod
    def unknown(cls, recipient: str, *, reachable: bool = True) -> ConsentState:
        return cls(recipient=recipient, reachable=reachable)
