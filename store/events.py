"""Plain values that cross the store boundary: events to write, events read, erasure receipts.

No SQLAlchemy objects leave ``store/``; callers (CLI, web pages, relay) get these dataclasses.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from store.state import ConsentStatus

STATES = frozenset(s.value for s in ConsentStatus if s is not ConsentStatus.UNKNOWN)
METHODS = frozenset({"page", "import", "api", "admin"})
PURPOSES = frozenset({"open_tracking", "click_tracking"})  # = rewriters.treatment.Purpose


def text_hash(text: str) -> str:
    """SHA-256 of the consent text shown: the proof of what was agreed to, even after edits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewEvent:
    """One ledger row to append; ``recipient`` must already be normalised."""

    recipient: str
    purpose: str
    state: str
    method: str
    occurred_at: datetime
    controller: str
    source_id: str | None = None
    text_version: str | None = None
    text_hash: str | None = None
    language: str | None = None
    policy_version: str | None = None
    expires_at: datetime | None = None
    actor: str | None = None
    ip: str | None = None
    evidence: str | None = None

    def check(self) -> None:
        """Raise ValueError naming the bad field (purpose, state, method)."""
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r} (one of {sorted(PURPOSES)})")
        if self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r} (one of {sorted(STATES)})")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r} (one of {sorted(METHODS)})")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EventView(NewEvent):
    """A stored ledger event, as history, export and ``policy explain`` show it."""

    id: int = 0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("occurred_at", "expires_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True)
class ErasureReceipt:
    """What an erasure did, for the data subject's answer and the admin log."""

    address_hash: str
    events_deleted: int
    suppressed: tuple[tuple[str, str, str], ...] = field(default=())  # (controller, purpose, state)
    erased_at: datetime | None = None
