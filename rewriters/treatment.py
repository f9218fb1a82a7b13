"""The contract between policy, relay and the rewriting engine.

A :class:`Treatment` is what the policy decided for one recipient at RCPT time; the relay pins
one treatment per SMTP transaction (see ``relay/transaction.py``), so everything a rewrite
depends on must be part of :meth:`Treatment.pin_key`. Rewriters are pure functions of
``(raw bytes, Treatment, RewriteContext) -> RewriteResult``: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    """What happens to tracking found in a message."""

    STRIP = "strip"
    PERMIT = "permit"
    DISCLOSE = "disclose"
    REPORT = "report"


class Purpose(StrEnum):
    """Consent purposes a tracker needs."""

    OPEN_TRACKING = "open_tracking"
    CLICK_TRACKING = "click_tracking"


class Confidence(StrEnum):
    """Why something was judged a tracker, strongest first."""

    VENDOR_RULE = "vendor_rule"
    IDENTITY_HIT = "identity_hit"
    HEURISTIC = "heuristic"


@dataclass(frozen=True)
class Treatment:
    """One recipient's treatment. Equal pin keys may share one SMTP transaction.

    ``strip_purposes`` lets a policy keep click tracking while removing open tracking (or the
    reverse) under ``disclose``/``permit``. ``allowed_vendors`` of ``None`` keeps every vendor
    under consent; a set keeps only those and strips the rest even with consent.
    """

    action: Action
    strip_purposes: frozenset[Purpose] = frozenset()
    allowed_vendors: frozenset[str] | None = None
    opaque_links: str = "keep"  # "keep" | "text"
    footer_language: str = "en"
    footer_template: str | None = None
    per_recipient: bool = False
    route_through_relay: bool = False
    esp_switches_off: bool = False
    uncleanable: str = "pass"  # "pass" | "reject": signed/encrypted mail that needs stripping

    def pin_key(self) -> tuple[object, ...]:
        """Everything that changes the rewritten bytes; recipients with equal keys share a body."""
        return (
            self.action,
            tuple(sorted(self.strip_purposes)),
            None if self.allowed_vendors is None else tuple(sorted(self.allowed_vendors)),
            self.opaque_links,
            self.footer_language,
            self.footer_template,
            self.per_recipient,
            self.route_through_relay,
            self.esp_switches_off,
            self.uncleanable,
        )

    @property
    def needs_own_transaction(self) -> bool:
        """A per-recipient element (personal opt-out link, routed URLs) means one RCPT per body."""
        return self.per_recipient or self.route_through_relay


STRIP = Treatment(Action.STRIP)
PERMIT = Treatment(Action.PERMIT)


@dataclass(frozen=True)
class RewriteContext:
    """Per-recipient inputs a rewrite may use; all computed by the caller (no I/O here).

    ``route_url`` turns a kept tracker URL into the relay's own signed URL (issue 6); it must be
    a pure function (HMAC signing is fine). ``footer_text`` is an admin-supplied disclosure
    template (the text of ``Treatment.footer_template``), loaded by the caller because reading a
    file is I/O; ``None`` uses the shipped template for ``Treatment.footer_language``.
    """

    recipient: str | None = None
    stop_tracking_url: str | None = None
    consent_since: datetime | None = None
    route_url: Callable[[str, Purpose], str] | None = None
    controller: str | None = None
    footer_text: str | None = None


@dataclass(frozen=True)
class Finding:
    """One tracker occurrence: what, where, and what was done about it."""

    vendor: str
    kind: str  # open_pixel | click_wrapper | css_beacon | remote_font | header | amp | link_param
    where: str  # element | css | comment | header | text | amp
    host: str
    action: str  # removed | unwrapped | kept | replaced_with_text | param_removed | reported
    confidence: Confidence
    purpose: Purpose | None = None
    detail: str = ""


@dataclass
class RewriteResult:
    """New message bytes plus what was found; ``data is raw`` when nothing changed."""

    data: bytes
    findings: list[Finding] = field(default_factory=list)
    uncleanable: bool = False
    notes: list[str] = field(default_factory=list)

    def changed(self, original: bytes) -> bool:
        return self.data != original
