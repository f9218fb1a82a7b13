"""What the relay calls at RCPT (and DATA) time: normalise, look up consent, apply the policy.

Holds the current :class:`Policy` and swaps it atomically on reload; a file that fails
validation never replaces a working policy (the old one keeps running and the problem is logged
with file:line). Consent comes through :class:`store.cache.ConsentCache`, which fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from policy.decision import Decision
from policy.engine import Policy
from policy.tomlfile import FileError
from rewriters.treatment import STRIP
from store.addresses import AddressError, normalize
from store.cache import ConsentCache
from store.events import EventView
from store.state import ConsentState

log = logging.getLogger("consent_relay.policy")
INVALID_RECIPIENT = "invalid-recipient"


@dataclass(frozen=True)
class Explanation:
    """``policy explain`` output: the decision, the rules tried, the events relied on."""

    decision: Decision
    trace: list[tuple[str, str | None]]
    events: list[EventView] = field(default_factory=list)


class PolicyService:
    """The relay's single entry point for per-recipient decisions."""

    def __init__(self, policy_path: Path, cache: ConsentCache) -> None:
        self.path = Path(policy_path)
        self.cache = cache
        self.policy = Policy.load(self.path)  # an invalid file at start-up is fatal (FileError)
        self._fingerprint = self._read_fingerprint()
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.last_error: FileError | None = None

    @property
    def version(self) -> str:
        return self.policy.version

    async def decide(self, sender: str, recipient: str, category: str | None = None) -> Decision:
        """Decision for one recipient; an invalid address comes back with ``refusal`` set."""
        try:
            address = normalize(recipient)
        except AddressError as exc:
            return self._refused(recipient, str(exc), category)
        consent = await self.cache.lookup(address)
        return self.policy.decide(sender, address, consent, category)

    async def decide_many(
        self, sender: str, recipients: list[str], category: str | None = None
    ) -> dict[str, Decision]:
        """Decisions keyed by the recipient as given; one store query for the uncached ones."""
        valid: dict[str, str] = {}
        out: dict[str, Decision] = {}
        for recipient in recipients:
            try:
                valid[recipient] = normalize(recipient)
            except AddressError as exc:
                out[recipient] = self._refused(recipient, str(exc), category)
        states = await self.cache.lookup_many(list(valid.values()))
        policy = self.policy
        for recipient, address in valid.items():
            out[recipient] = policy.decide(sender, address, states[address], category)
        return out

    def _refused(self, recipient: str, reason: str, category: str | None) -> Decision:
        consent = ConsentState.unknown(recipient)
        return Decision(
            STRIP, INVALID_RECIPIENT, self.policy.version, consent, category, refusal=reason
        )

    async def explain(
        self, sender: str, recipient: str, category: str | None = None
    ) -> Explanation:
        """The decision plus the rule trace and the ledger events the consent rests on."""
        decision = await self.decide(sender, recipient, category)
        if decision.refusal:
            return Explanation(decision, [])
        address = decision.consent.recipient
        trace = self.policy.trace(sender, address, decision.consent, category)
        used = set(decision.consent.event_ids)
        events: list[EventView] = []
        if decision.consent.reachable:
            events = [e for e in await self.cache.ledger.history(address) if e.id in used]
        return Explanation(decision, trace, events)

    def _read_fingerprint(self) -> tuple[float, str] | None:
        try:
            return self.path.stat().st_mtime, hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def reload(self) -> bool:
        """Load the file again; on any problem keep the running policy and return False."""
        self._fingerprint = self._read_fingerprint()
        try:
            policy = Policy.load(self.path)
        except FileError as exc:
            self.reloads_failed += 1
            self.last_error = exc
            log.error(
                "policy_reload_failed",
                extra={
                    "event": "policy_reload_failed",
                    "problems": exc.problems,
                    "kept_version": self.policy.version,
                },
            )
            return False
        old, self.policy = self.policy.version, policy
        self.reloads_ok += 1
        self.last_error = None
        log.info(
            "policy_reloaded",
            extra={"event": "policy_reloaded", "version": policy.version, "previous": old},
        )
        return True

    def changed(self) -> bool:
        """True when the file's mtime or content differs from the last (re)load."""
        now = self._read_fingerprint()
        if now is None or now == self._fingerprint:
            return False
        if self._fingerprint is not None and now[1] == self._fingerprint[1]:
            self._fingerprint = now  # touched, same bytes: nothing to do
            return False
        return True

    async def watch(self, interval: float = 5.0) -> None:
        """Reload whenever the file changes; run as a task, cancel to stop."""
        while True:
            await asyncio.sleep(interval)
            try:
                if self.changed():
                    self.reload()
            except Exception:  # the watcher must outlive any one bad file or I/O error
                log.exception("policy_watch_failed", extra={"path": str(self.path)})

    def install_sighup(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Reload on SIGHUP (Unix); a no-op where signals cannot be attached."""
        loop = loop or asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
            loop.add_signal_handler(signal.SIGHUP, self.reload)
