"""What the treatment says to do with each tracker found, and the findings that record it.

One place answers "strip this?" so HTML, CSS, plain text and headers agree: ``strip`` and
``report`` strip everything; ``permit`` and ``disclose`` keep trackers except purposes listed in
``strip_purposes`` and vendors missing from ``allowed_vendors``. ``report`` computes the same
findings as ``strip`` but the engine returns the original bytes.
"""

from __future__ import annotations

from rewriters.detection import Detection
from rewriters.treatment import (
    Action,
    Confidence,
    Finding,
    Purpose,
    RewriteContext,
    Treatment,
)

REPORT_ONLY = "report-only"
CSS_BUDGET = 1024 * 1024


class Decider:
    """Per-message decisions and the findings list they produce."""

    def __init__(self, treatment: Treatment, context: RewriteContext) -> None:
        self.treatment = treatment
        self.context = context
        self.findings: list[Finding] = []
        self._shared: dict[tuple[str, str, str, str, str, Confidence, Purpose | None, str],
                           Finding] = {}
        self.notes: list[str] = []  # things the scan skipped, for RewriteResult.notes
        self.css_budget = CSS_BUDGET
        allowed = treatment.allowed_vendors
        self.allowed = None if allowed is None else {v.lower() for v in allowed}
        # asked for every tracker of every message: a plain attribute, not a property
        self.stripping_all = treatment.action in (Action.STRIP, Action.REPORT)
        self.reporting = treatment.action is Action.REPORT

    def spend_css(self, size: int) -> bool:
        """May ``size`` more characters of CSS be tokenized? (tinycss2 runs at ~1 MB/s.)"""
        if size > self.css_budget:
            self.notes.append("CSS beyond the per-message scanning budget was not scanned")
            return False
        self.css_budget -= size
        return True

    def strips(self, vendor: str, purpose: Purpose) -> bool:
        """Remove (or unwrap) this vendor's tracking for this purpose?"""
        if self.stripping_all or purpose in self.treatment.strip_purposes:
            return True
        return self.allowed is not None and vendor.lower() not in self.allowed

    def strips_every_vendor(self, purpose: Purpose) -> bool | None:
        """Whether :meth:`strips` is True (or False) for every vendor for ``purpose``; ``None``
        when it depends on the vendor (``allowed_vendors``)."""
        if self.stripping_all or purpose in self.treatment.strip_purposes:
            return True
        return False if self.allowed is None else None

    def route(self, url: str, purpose: Purpose) -> str | None:
        """The relay's own URL for a kept tracker, when routing is on and the caller gave one."""
        if not self.treatment.route_through_relay or self.context.route_url is None:
            return None
        if self.treatment.action is Action.REPORT:
            return None
        return self.context.route_url(url, purpose)

    def record(self, det: Detection, where: str, action: str, detail: str = "") -> None:
        self.add(det.vendor, det.kind, where, det.host, action, det.confidence, det.purpose,
                 detail)

    def add(self, vendor: str, kind: str, where: str, host: str, action: str,
            confidence: Confidence, purpose: Purpose | None, detail: str = "") -> None:
        if self.reporting:
            detail = f"{detail}; {REPORT_ONLY}" if detail else REPORT_ONLY
        key = (vendor, kind, where, host, action, confidence, purpose, detail)
        finding = self._shared.get(key)
        if finding is None:  # findings are frozen: equal ones can be one object
            finding = self._shared[key] = Finding(*key)
        self.findings.append(finding)

    def kept_vendors(self) -> list[str]:
        """Vendors whose tracking stays in the message (for the disclosure footer)."""
        names: list[str] = []
        for f in self.findings:
            if f.action in ("kept", "routed") and f.kind not in ("header", "amp"):
                name = f.host if f.vendor == "unknown" else f.vendor
                if name not in names:
                    names.append(name)
        return names

    def kept_purposes(self) -> list[Purpose]:
        found = {f.purpose for f in self.findings if f.action in ("kept", "routed")}
        return [p for p in Purpose if p in found]
