"""A local append-only file of delivery keys, written the instant upstream accepts a message.

The delivery journal's database commit goes through a group commit and, under load, waits its
turn for the event loop and the store thread: measured in the Postfix crash test, 7 ms at the
median and 16 ms at p90 between upstream's 250 and the commit. A SIGKILL in that window made
the retry a duplicate. One ``os.write`` of a fixed-size record to an ``O_APPEND`` file takes a
few microseconds, never waits for a lock, and survives the death of the process (the kernel
holds the page); so the window shrinks to the time the event loop needs to resume the
transaction after reading upstream's reply. It is not fsynced: a power loss can lose the tail,
as SQLite's ``synchronous=NORMAL`` commits can; the database journal stays the shared record.

Each record is a 32-byte SHA-256 digest and the 8-byte Unix time it was written. The file is
rotated when it holds ``limit`` records (the current file becomes ``<name>.1``), so at most
two generations are kept and a restart reads both.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

DIGEST = 32
RECORD = struct.Struct(f"<{DIGEST}sd")


class KeyLog:
    """Append-only delivery keys; :meth:`read` at start-up, :meth:`append` per delivery."""

    def __init__(self, path: Path, limit: int, also_read: tuple[Path, ...] = ()) -> None:
        self.path = path
        self.limit = limit
        self.also_read = also_read  # other workers' logs: a retry may reach any worker
        self._fd: int | None = None
        self._count = 0

    def read(self, newer_than: float) -> Iterator[bytes]:
        """Digests written after ``newer_than`` (Unix time), older generation first.

        A torn final record (the process died inside a write) is ignored, and cut from this
        process's own file so that later records stay aligned; read to the end before the
        first :meth:`append` (the journal's ``load`` does).
        """
        others = [p for other in self.also_read for p in (_previous(other), other)]
        for path in (*others, self._previous, self.path):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError:
                if path in others:  # another worker's problem must not cost this one its log
                    continue
                raise
            usable = len(data) - len(data) % RECORD.size
            if path == self.path:
                self._count = usable // RECORD.size
                if usable < len(data):
                    os.truncate(path, usable)
            for digest, written in RECORD.iter_unpack(memoryview(data)[:usable]):
                if written > newer_than:
                    yield digest

    def open(self) -> None:
        """Open for appending now (raises ``OSError`` if the file cannot be written), so a
        misconfigured path shows at start-up rather than on the first delivery."""
        if self._fd is None:
            self._open()

    def append(self, digest: bytes) -> None:
        """One ``write`` of one record (atomic for ``O_APPEND`` on a local file system)."""
        if self._fd is None or self._count >= self.limit:
            self._open()
        assert self._fd is not None
        written = os.write(self._fd, RECORD.pack(digest, time.time()))
        if written != RECORD.size:  # a full disk or quota: keep the file aligned, then say so
            os.ftruncate(self._fd, self._count * RECORD.size)
            raise OSError(f"short write to {self.path}: {written} of {RECORD.size} bytes")
        self._count += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def _previous(self) -> Path:
        return _previous(self.path)

    def _open(self) -> None:
        self.close()
        if self._count >= self.limit:  # full: the current generation becomes the previous one
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path, self._previous)
            self._count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".1")
