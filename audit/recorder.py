"""The relay observer that writes one decision record per DATA outcome.

What is kept is what a DPO needs to prove the relay did its job (treatment, rule, policy
version, the consent events relied on, trackers by vendor/kind/action and how many) and nothing
that would turn the audit trail into an archive of the mail: no body, no subject, the
Message-ID only as a keyed hash, recipients as keyed hashes (the ledger's scheme, so a
subject-access request can find them) plus their TLD, the sender as address or only domain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable
from typing import Any

from policy.decision import Decision
from policy.patterns import tld
from relay.contracts import Delivery
from rewriters.treatment import Action, Finding, Purpose
from store.addresses import AddressError, normalize
from store.audit import AuditStore, NewDecision, NewRecipient
from store.batching import GroupCommit
from store.config import AuditConfig
from store.db import Database
from store.ledger import Ledger


def outcome_of(delivery: Delivery) -> str:
    """delivered | duplicate | deferred (4xx, the client retries) | rejected (5xx)."""
    if delivery.delivered:
        return "duplicate" if delivery.duplicate_suppressed else "delivered"
    return "deferred" if delivery.reply.startswith("4") else "rejected"


def finding_counts(
    findings: Iterable[Finding], report_mode: bool = False
) -> list[tuple[str, str, str, int]]:
    """(vendor, kind, action, count), sorted: the shape every report and metric uses.

    Under ``report`` the engine describes what strip *would* do and forwards the message
    unchanged, so those findings are counted as ``reported``, never as removed.
    """
    counts = Counter(
        (f.vendor or "unknown", f.kind, "reported" if report_mode else f.action) for f in findings
    )
    return [(v, k, a, n) for (v, k, a), n in sorted(counts.items())]


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].lower() if "@" in sender else ""


def _ids(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in sorted(set(ids)))


class AuditRecorder:
    """``relay.contracts.Observer``: writes to the audit tables (a failure never bounces mail)."""

    def __init__(self, db: Database, hash_key: str, audit_config: AuditConfig) -> None:
        self.store = AuditStore(db)
        self.config = audit_config
        self._hasher = Ledger(db, hash_key)
        self._key = hash_key.encode("utf-8")
        self.recorded = 0
        self._batches: GroupCommit[NewDecision] = GroupCommit(self.store.add_many)

    def recipient_hash(self, recipient: str) -> str:
        """The ledger's keyed hash of the normalised address (raw lowercased if invalid)."""
        try:
            return self._hasher.address_hash(recipient)
        except AddressError:
            raw = recipient.strip().lower().encode("utf-8", "surrogateescape")
            return hmac.new(self._key, raw, hashlib.sha256).hexdigest()

    def message_id_hash(self, message_id: str | None) -> str | None:
        """Keyed, so a Message-ID (which may embed a name or address) cannot be guessed back."""
        if not message_id:
            return None
        data = b"message-id\0" + message_id.strip().encode("utf-8", "surrogateescape")
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def _recipient(self, address: str, decision: Decision | None) -> NewRecipient:
        try:
            clear = normalize(address)
        except AddressError:
            clear = address.strip().lower()
        consent = decision.consent if decision is not None else None
        return NewRecipient(
            address_hash=self.recipient_hash(address),
            tld=tld(clear),
            rule_id=decision.rule_id if decision is not None else "",
            open_status=consent.of(Purpose.OPEN_TRACKING).status.value if consent else "unknown",
            click_status=consent.of(Purpose.CLICK_TRACKING).status.value if consent else "unknown",
            consent_event_ids=_ids(consent.event_ids) if consent else "",
            reachable=consent.reachable if consent else True,
            address=clear if self.config.clear_recipients else None,
        )

    def record_of(self, delivery: Delivery) -> NewDecision:
        """The decision record for one Delivery (pure: no I/O)."""
        decisions = delivery.decisions
        first = decisions[0] if decisions else None
        padded: list[Decision | None] = [*decisions, *[None] * len(delivery.recipients)]
        pairs = zip(delivery.recipients, padded[: len(delivery.recipients)], strict=True)
        domain = sender_domain(delivery.sender)
        report_mode = delivery.treatment.action is Action.REPORT
        return NewDecision(
            trace_id=delivery.trace_id,
            message_id_hash=self.message_id_hash(delivery.message_id),
            sender=domain if self.config.sender == "domain" else delivery.sender.lower(),
            sender_domain=domain,
            treatment=delivery.treatment.action.value,
            rule_id=first.rule_id if first else "",
            policy_version=first.policy_version if first else "",
            category=next((d.category for d in decisions if d.category), None),
            outcome=outcome_of(delivery),
            reply_code=delivery.reply[:3],
            consent_event_ids=_ids(i for d in decisions for i in d.consent.event_ids),
            flags={
                "changed": delivery.changed,
                "uncleanable": delivery.uncleanable,
                "report_mode": report_mode,
                "store_unreachable": any(not d.consent.reachable for d in decisions),
                "duplicate_suppressed": delivery.duplicate_suppressed,
            },
            rewrite_ms=round(delivery.rewrite_seconds * 1000, 3),
            upstream_ms=round(delivery.upstream_seconds * 1000, 3),
            recipients=[self._recipient(r, d) for r, d in pairs],
            findings=finding_counts(delivery.findings, report_mode),
        )

    async def delivered(self, delivery: Delivery) -> None:
        """Return once the record is committed; concurrent records share one transaction."""
        if not self.config.enabled:
            return
        await self._batches.submit(self.record_of(delivery))
        self.recorded += 1

    async def subject_records(self, address: str) -> list[dict[str, Any]]:
        """Every decision record about ``address`` (GDPR Art. 15 export), found by its hash."""
        return await self.store.recipient_records(self.recipient_hash(address))

    async def policy_event(self, event: str, version: str, detail: str = "") -> None:
        """``loaded`` | ``reloaded`` | ``reload_failed`` (the old policy kept running)."""
        if self.config.enabled:
            await self.store.add_reload(event, version, detail)
