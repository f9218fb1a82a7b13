"""Read an SMTP DATA payload in one pass instead of aiosmtpd's line-by-line loop.

aiosmtpd awaits ``readuntil(b"\\r\\n")`` once per line, which costs about half of a
pass-through proxy's CPU (architecture.md s.7). Here the payload is read in large chunks until
the ``CRLF.CRLF`` terminator, then checked and dot-unstuffed with bytes operations. The
semantics stay aiosmtpd's: 552 when over the size limit, 500 for a line over its 1001 octets
(both answered only after the terminator, RFC 5321 4.2.5), and nothing is handed to the
handler when the client disconnects mid-payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

CHUNK = 1 << 16
TERMINATOR = b"\r\n.\r\n"
MAX_LINE = 999  # octets before CRLF: aiosmtpd's line_length_limit of 1001 counts the CRLF


@dataclass
class Payload:
    """Outcome of reading one DATA payload."""

    content: bytes | None  # None when it was too big or had an over-long line
    too_big: bool = False
    too_long_line: bool = False


def _longest_line_exceeds(data: bytes | bytearray, limit: int) -> bool:
    """True when some line (the octets between two CRLFs) is longer than ``limit`` octets.

    Lines end at CRLF only, as aiosmtpd reads them (a bare LF does not end a line). Jumps to
    the *last* CRLF within reach each time, so the loop runs about ``len(data) / limit``
    times however short the lines are (a quoted-printable body has one every 76 octets).
    """
    start = 0
    length = len(data)
    while length - start > limit:
        end = data.rfind(b"\r\n", start, start + limit + 2)
        if end < 0:
            return True
        start = end + 2
    return False


def unstuff(data: bytes) -> bytes:
    """Undo dot-stuffing (RFC 5321 4.5.2): a leading '.' on any line is removed."""
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\r\n.", b"\r\n")


async def read_payload(
    reader: asyncio.StreamReader, size_limit: int | None, on_progress: Callable[[], None]
) -> Payload:
    """Read up to and including ``CRLF.CRLF``; raise ConnectionError if the client goes away."""
    buffer = bytearray(b"\r\n")  # so an empty payload's lone ".\r\n" matches the terminator
    discarded = 0
    scan_from = 0
    while True:
        index = buffer.find(TERMINATOR, scan_from)
        if index >= 0:
            break
        if size_limit and len(buffer) + discarded > size_limit + len(TERMINATOR):
            keep = bytes(buffer[-len(TERMINATOR) :])
            discarded += len(buffer) - len(keep)
            buffer = bytearray(keep)
        chunk = await reader.read(CHUNK)
        if not chunk:
            raise ConnectionError("client disconnected during DATA")
        on_progress()
        scan_from = max(0, len(buffer) - len(TERMINATOR) + 1)
        buffer += chunk
    leftover = bytes(buffer[index + len(TERMINATOR) :])
    if leftover:
        reader._buffer[:0] = leftover  # type: ignore[attr-defined]  # pipelined next command
    body = bytes(buffer[2 : index + 2])
    if discarded or (size_limit and len(body) > size_limit):
        return Payload(None, too_big=True)
    if _longest_line_exceeds(body, MAX_LINE):
        return Payload(None, too_long_line=True)
    return Payload(unstuff(body))
