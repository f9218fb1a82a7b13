"""State of one inbound SMTP transaction, from MAIL to the final reply.

The first accepted recipient pins the treatment; a recipient whose treatment differs (or any
second recipient when the pinned treatment carries a per-recipient element) is deferred with
452 so the client resends it in a new transaction: one inbound transaction, one body, one
upstream transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy.decision import Decision
from rewriters.treatment import Action, Treatment


@dataclass
class Transaction:
    trace_id: str
    sender: str
    utf8: bool
    recipients: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def treatment(self) -> Treatment | None:
        return self.decisions[0].treatment if self.decisions else None

    def admits(self, decision: Decision) -> bool:
        """May this recipient share the transaction's body?"""
        pinned = self.treatment
        if pinned is None:
            return True
        if pinned.needs_own_transaction or decision.treatment.needs_own_transaction:
            return False
        return pinned.pin_key() == decision.treatment.pin_key()

    def add(self, recipient: str, decision: Decision) -> None:
        self.recipients.append(recipient)
        self.decisions.append(decision)


_STRICTNESS = {Action.STRIP: 3, Action.REPORT: 1, Action.DISCLOSE: 2, Action.PERMIT: 0}


def strictest(treatments: list[Treatment]) -> Treatment:
    """The most privacy-protective of several treatments (strip beats disclose beats permit)."""
    return max(treatments, key=lambda t: _STRICTNESS[t.action])
