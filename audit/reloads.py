"""Policy loads and reloads into the audit trail and the metrics, without touching the policy.

``PolicyService`` counts its reloads (``reloads_ok``, ``reloads_failed``) whichever way they
were triggered (SIGHUP, the file watcher, an admin call); this task notices each change of
those counters, records the event (version in force, or the problems of a refused file) and
feeds ``MetricsObserver.policy_reload``. Polling keeps the policy package free of audit code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from audit.metrics import MetricsObserver
from audit.recorder import AuditRecorder

log = logging.getLogger("consent_relay.audit")


class Reloadable(Protocol):
    reloads_ok: int
    reloads_failed: int

    @property
    def version(self) -> str: ...

    @property
    def last_error(self) -> object: ...


class ReloadTracker:
    """Turns counter changes into ``loaded`` / ``reloaded`` / ``reload_failed`` events."""

    def __init__(
        self,
        service: Reloadable,
        recorder: AuditRecorder | None = None,
        metrics: MetricsObserver | None = None,
    ) -> None:
        self.service = service
        self.recorder = recorder
        self.metrics = metrics
        self._ok = service.reloads_ok
        self._failed = service.reloads_failed

    async def started(self) -> None:
        """Record the policy version in force when the server starts."""
        if self.recorder is not None:
            await self.recorder.policy_event("loaded", self.service.version)

    async def check(self) -> None:
        ok, failed = self.service.reloads_ok, self.service.reloads_failed
        new_ok, new_failed = ok - self._ok, failed - self._failed
        self._ok, self._failed = ok, failed
        for _ in range(new_ok):
            await self._event("reloaded", True, "")
        for _ in range(new_failed):
            problems = getattr(self.service.last_error, "problems", None) or []
            await self._event("reload_failed", False, "\n".join(map(str, problems)))

    async def _event(self, event: str, ok: bool, detail: str) -> None:
        if self.metrics is not None:
            self.metrics.policy_reload(ok)
        if self.recorder is not None:
            await self.recorder.policy_event(event, self.service.version, detail)

    async def watch(self, interval: float = 1.0) -> None:
        """Server task: record the start, then poll; cancel to stop."""
        await self._guarded(self.started())
        while True:
            await asyncio.sleep(interval)
            await self._guarded(self.check())

    async def _guarded(self, step: Awaitable[None]) -> None:
        try:
            await step
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("audit_reload_record_failed")
