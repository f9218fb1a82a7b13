"""Byte-level edits of a message's top-level header block.

The header block is never re-serialised: fields are located as byte ranges (a field plus its
folded continuation lines) and only the ranges that change are cut or inserted, so every other
byte, including odd folding, 8-bit values and the line-ending style, survives as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class HeaderField(NamedTuple):
    """One header field: lowercased name, raw value (with folding), byte span in the message."""

    name: str
    value: bytes
    start: int
    end: int


_FOLD = (0x20, 0x09)  # a line starting with a space or tab continues the field above


def header_end(raw: bytes) -> int:
    """Offset where the body starts (after the blank line); ``len(raw)`` if there is no body."""
    if raw.startswith((b"\r\n", b"\n")):
        return 2 if raw.startswith(b"\r\n") else 1
    crlf = raw.find(b"\r\n\r\n")
    # a bare "\n\n" only wins if it starts before the CRLF pair ends: in a CRLF message the
    # search then stops at the header block instead of running through the whole body
    lf = raw.find(b"\n\n", 0, crlf + 4 if crlf >= 0 else len(raw))
    candidates = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(candidates) if candidates else len(raw)


def line_ending(raw: bytes) -> bytes:
    """The message's own line ending, so inserted lines match it."""
    first = raw.find(b"\n")
    return b"\r\n" if first > 0 and raw[first - 1 : first] == b"\r" else b"\n"


def parse_fields(raw: bytes, end: int | None = None) -> list[HeaderField]:
    """Split the header block into fields; lines that are not fields stay attached to the last."""
    stop = header_end(raw) if end is None else end
    fields: list[HeaderField] = []
    pos = 0
    while pos < stop:
        nl = raw.find(b"\n", pos, stop)
        line_end = stop if nl < 0 else nl + 1
        line = raw[pos:line_end]
        if not line.strip():
            break
        if line[0] in _FOLD and fields:
            last = fields[-1]
            fields[-1] = HeaderField(last.name, raw[last.start : line_end].split(b":", 1)[-1],
                                     last.start, line_end)
        else:
            name, colon, value = line.partition(b":")
            if colon:
                fields.append(HeaderField(name.strip().decode("latin-1").lower(), value,
                                          pos, line_end))
            elif fields:
                last = fields[-1]
                fields[-1] = HeaderField(last.name, last.value + line, last.start, line_end)
        pos = line_end
    return fields


def get_values(raw: bytes, name: str) -> list[str]:
    """Unfolded, stripped values of every field called ``name`` (case-insensitive)."""
    return header_values(raw, name)[name.lower()]


def header_values(raw: bytes, *names: str) -> dict[str, list[str]]:
    """:func:`get_values` for several names (lowercased keys) in one parse of the header."""
    wanted: dict[str, list[str]] = {name.lower(): [] for name in names}
    for f in parse_fields(raw):
        if f.name in wanted:
            text = f.value.decode("utf-8", "replace")
            wanted[f.name].append(" ".join(text.split()))
    return wanted


def remove_fields(raw: bytes, names: Iterable[str]) -> tuple[bytes, list[str]]:
    """Cut every field whose name is in ``names``; return new bytes and the names removed."""
    wanted = {n.lower() for n in names}
    hits = [f for f in parse_fields(raw) if f.name in wanted]
    if not hits:
        return raw, []
    pieces = []
    pos = 0
    for f in hits:
        pieces.append(raw[pos : f.start])
        pos = f.end
    pieces.append(raw[pos:])
    return b"".join(pieces), [f.name for f in hits]


def prepend_fields(raw: bytes, fields: Iterable[tuple[str, str]]) -> bytes:
    """Insert fields at the top of the header block (where trace fields belong, RFC 5321 4.4)."""
    eol = line_ending(raw)
    block = b"".join(f"{name}: {value}".encode() + eol for name, value in fields)
    return block + raw if block else raw
