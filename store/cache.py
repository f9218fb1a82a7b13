"""Consent lookups for the RCPT hot path: batched, cached, bounded in time, failing closed.

The TTL bounds how stale a decision can be when another instance (or the web pages in another
process) writes to the shared database; writes through this process's :class:`Ledger` invalidate
at once. If the store cannot answer within ``timeout`` seconds the recipient is treated as having
no consent (``ConsentState.unknown(r, reachable=False)``): tracking is stripped and the mail still
flows. Such answers are not cached, so the next lookup retries the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from store.addresses import normalize
from store.derivation import refresh
from store.ledger import Ledger
from store.state import ConsentState

log = logging.getLogger("consent_relay.store")
DEFAULT_TIMEOUT = 2.0


SWEEP_FLOOR = 1024

class ConsentCache:
    """TTL cache in front of :meth:`Ledger.states`; ``store_errors`` counts fail-closed answers."""

    def __init__(
        self,
        ledger: Ledger,
        ttl_seconds: float = 30.0,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.ttl = ttl_seconds
        self.timeout = timeout
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, ConsentState]] = {}
        self._next_sweep = SWEEP_FLOOR
        self.store_errors = 0
        self.hits = 0
        self.misses = 0
        self.on_store_error: Callable[[BaseException], None] | None = None
        ledger.listeners.append(self.invalidate)

    def invalidate(self, recipient: str | None = None) -> None:
        """Forget one address (normalised or not), or everything when ``recipient`` is None."""
        if recipient is None:
            self._entries.clear()
            return
        try:
            self._entries.pop(normalize(recipient), None)
        except ValueError:
            return

    def _cached(self, address: str, now: float) -> ConsentState | None:
        entry = self._entries.get(address)
        if entry is None or entry[0] <= now:
            return None
        return refresh(entry[1], datetime.now(UTC))

    async def lookup(self, recipient: str) -> ConsentState:
        """Consent for one address; raises :class:`store.addresses.AddressError` if invalid."""
        return (await self.lookup_many([recipient]))[normalize(recipient)]

    async def lookup_many(self, recipients: Sequence[str]) -> dict[str, ConsentState]:
        """Consent per normalised address; one store query for everything not cached."""
        addresses = list(dict.fromkeys(normalize(r) for r in recipients))
        now = self._clock()
        found: dict[str, ConsentState] = {}
        missing = []
        for address in addresses:
            state = self._cached(address, now)
            if state is None:
                missing.append(address)
            else:
                found[address] = state
        self.hits += len(found)
        self.misses += len(missing)
        if missing:
            found.update(await self._fetch(missing))
        return {a: found[a] for a in addresses}

    async def _fetch(self, addresses: list[str]) -> dict[str, ConsentState]:
        try:
            states = await asyncio.wait_for(self.ledger.states(addresses), self.timeout)
        except Exception as exc:  # any store failure means: no consent, keep delivering
            self._failed(exc, len(addresses))
            return {a: ConsentState.unknown(a, reachable=False) for a in addresses}
        if self.ttl > 0:
            self._evict(len(states))
            expires = self._clock() + self.ttl
            for address, state in states.items():
                self._entries[address] = (expires, state)
        return states

    def _evict(self, incoming: int) -> None:
        """Drop expired entries now and then, so memory follows the live set (rate x TTL)
        instead of every address seen; past ``max_entries`` start afresh."""
        if len(self._entries) + incoming > self.max_entries:
            self._entries.clear()
        if len(self._entries) < self._next_sweep:
            return
        now = self._clock()
        self._entries = {a: e for a, e in self._entries.items() if e[0] > now}
        self._next_sweep = max(SWEEP_FLOOR, 2 * len(self._entries))

    def _failed(self, exc: BaseException, count: int) -> None:
        self.store_errors += 1
        reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        log.warning(
            "consent_store_unreachable",
            extra={
                "event": "consent_store_unreachable",
                "reason": reason,
                "recipients": count,
                "store_errors": self.store_errors,
            },
        )
        if self.on_store_error is not None:
            self.on_store_error(exc)
