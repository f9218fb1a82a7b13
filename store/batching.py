"""Group commit: callers that write at the same time share one database transaction.

Each ``submit`` returns only once its own item is committed (or raises the commit's error), so
durability is unchanged; while one transaction is in flight, items from other connections queue
and go in the next one. Under load this turns N commits into a few, which is what keeps the
per-message cost of the delivery journal and the audit trail low on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Any]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        await self.submit_many([item])

    async def submit_many(self, items: Sequence[T]) -> None:
        """Return once every item is committed (they may share a transaction with others)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.extend((item, done) for item in items)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await done

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (or has failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write([item for item, _ in batch])
            except Exception as exc:
                _settle(batch, exc)
                continue
            _settle(batch, None)


def _settle(batch: list[tuple[Any, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
