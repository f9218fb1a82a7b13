"""A table-driven stand-in for the policy service, for relay tests that are about SMTP only.

It builds real :class:`Decision` objects; tests about policy use the real ``PolicyService``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy.decision import Decision
from rewriters.treatment import STRIP, Treatment
from store.state import ConsentState


@dataclass
class TableDecider:
    by_recipient: dict[str, Treatment] = field(default_factory=dict)
    default: Treatment = STRIP
    refusals: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def decide(self, sender: str, recipient: str, category: str | None = None) -> Decision:
        self.calls.append((sender, recipient, category))
        treatment = self.by_recipient.get(recipient.lower(), self.default)
        return Decision(
            treatment=treatment,
            rule_id="table",
            policy_version="test",
            consent=ConsentState.unknown(recipient),
            category=category,
            refusal=self.refusals.get(recipient.lower()),
        )
