"""The policy's answer for one recipient, as the relay and the audit trail consume it."""

from __future__ import annotations

from dataclasses import dataclass

from rewriters.treatment import Treatment
from store.state import ConsentState


@dataclass(frozen=True)
class Decision:
    """Treatment plus why: rule id, policy version (file hash), and the consent relied on."""

    treatment: Treatment
    rule_id: str
    policy_version: str
    consent: ConsentState
    category: str | None = None
    refusal: str | None = None  # set when the policy refuses the recipient outright (5xx text)
