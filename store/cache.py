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
        self._generation = 0  # bumped by invalidate(): in-flight reads must not be cached
        self._inflight: dict[str, asyncio.Future[ConsentState]] = {}
        self._queue: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self.store_errors = 0
        self.hits = 0
        self.misses = 0
        self.on_store_error: Callable[[BaseException], None] | None = None
        ledger.listeners.append(self.invalidate)

    def invalidate(self, recipient: str | None = None) -> None:
        """Forget one address (normalised or not), or everything when ``recipient`` is None."""
        self._generation += 1
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
        """Join the next batch: concurrent RCPTs of many connections share one query."""
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[ConsentState]] = {}
        for address in addresses:
            future = self._inflight.get(address)
            if future is None:
                future = self._inflight[address] = loop.create_future()
                self._queue.append(address)
            waiting[address] = future
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_batches())
        return {a: await f for a, f in waiting.items()}

    async def _read_batches(self) -> None:
        try:
            await self._read_queue()
        finally:  # whatever happened, nobody waits forever: unanswered means no consent
            for address, future in list(self._inflight.items()):
                if not future.done():
                    future.set_result(ConsentState.unknown(address, reachable=False))
            self._inflight.clear()
            self._queue.clear()

    async def _read_queue(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            generation = self._generation
            started = self._clock()  # the TTL runs from the read, not from its answer
            states = await self._query(batch)
            cacheable = self.ttl > 0 and generation == self._generation
            if cacheable:  # an invalidation during the query: do not cache what it read
                self._evict(len(states))
            expires = started + self.ttl
            for address in batch:
                state = states.get(address) or ConsentState.unknown(address)
                if cacheable and state.reachable:
                    self._entries[address] = (expires, state)
                future = self._inflight.pop(address)
                if not future.done():
                    future.set_result(state)

    async def _query(self, batch: list[str]) -> dict[str, ConsentState]:
        try:
            return await asyncio.wait_for(self.ledger.states(batch), self.timeout)
        except Exception as exc:  # any store failure means: no consent, keep delivering
            self._failed(exc, len(batch))
            return {a: ConsentState.unknown(a, reachable=False) for a in batch}

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
