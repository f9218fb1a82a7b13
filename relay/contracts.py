"""What the relay needs from the rest of the product, as protocols (one seam each).

The composition root (``cli/serve.py``) plugs in the real policy service, journal, audit and
link signer; tests plug in the same real objects on a temporary SQLite file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from policy.decision import Decision
from rewriters.treatment import Finding, RewriteContext, Treatment


class Decider(Protocol):
    """Per-recipient policy decision (store lookups happen inside and fail closed)."""

    async def decide(
        self, sender: str, recipient: str, category: str | None = None
    ) -> Decision: ...


class Journal(Protocol):
    """Remembers forwarded messages so a client's retry after a lost 250 is not sent twice."""

    async def already_delivered(self, key: str) -> bool: ...

    async def remember(self, key: str) -> None: ...


@dataclass
class Delivery:
    """Everything the audit trail may record about one forwarded transaction (never a body)."""

    trace_id: str
    sender: str
    recipients: list[str]
    decisions: list[Decision]
    treatment: Treatment
    findings: list[Finding] = field(default_factory=list)
    message_id: str | None = None
    changed: bool = False
    uncleanable: bool = False
    upstream_reply: str = ""
    duplicate_suppressed: bool = False
    reply: str = ""  # what the client was told; starts with "250" when delivered
    rewrite_seconds: float = 0.0
    upstream_seconds: float = 0.0

    @property
    def delivered(self) -> bool:
        return self.reply.startswith("2")


class Observer(Protocol):
    """Told about every DATA outcome (delivered or not) before the client gets the reply.

    Failures inside an observer are logged and never change the reply.
    """

    async def delivered(self, delivery: Delivery) -> None: ...


class ContextFactory(Protocol):
    """Builds the per-recipient rewrite context (signed stop-tracking link, routed URLs)."""

    def __call__(self, recipient: str, decision: Decision, trace_id: str) -> RewriteContext: ...


def plain_context(recipient: str, decision: Decision, trace_id: str) -> RewriteContext:
    """Context without web links (used when the web listener is disabled)."""
    consent = decision.consent
    since = [s.since for s in consent.purposes.values() if s.granted and s.since]
    return RewriteContext(recipient=recipient, consent_since=min(since) if since else None)
