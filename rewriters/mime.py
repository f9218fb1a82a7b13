"""Byte-level MIME walker and part re-encoding.

The message is never parsed into objects and re-serialised: this module only finds where each
part's headers and body sit in the raw bytes, so the engine can decode the few parts it must
edit and splice their re-encoded bodies back while every other byte is copied verbatim.
Depth, part count and part size are bounded so hostile structure cannot blow up time or memory.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from rewriters.headers import parse_fields

MAX_DEPTH = 32
MAX_PARTS = 2000
CHUNK = 8 * 1024  # small: binascii briefly holds about twice each chunk's output
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


@dataclass
class Part:
    """Where one MIME entity sits in the message; ``outer_*`` includes its delimiter line."""

    start: int
    body_start: int
    end: int
    ctype: str
    params: dict[str, str]
    cte: str
    disposition: str
    depth: int
    outer_start: int = 0
    outer_end: int = 0
    children: list[Part] = field(default_factory=list)
    opaque: bool = False

    @property
    def charset(self) -> str:
        return self.params.get("charset", "").strip().lower()

    def walk(self) -> list[Part]:
        """This part and all descendants, depth first, without recursion."""
        out: list[Part] = []
        stack = [self]
        while stack:
            part = stack.pop()
            out.append(part)
            stack.extend(reversed(part.children))
        return out


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """``text/html; charset="utf-8"`` -> (``text/html``, ``{"charset": "utf-8"}``)."""
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    for m in _PARAM.finditer(value[:4096]):
        raw = m.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params.setdefault(m.group(1).lower(), raw)
    return main or "text/plain", params


def _body_start(raw: bytes, start: int, end: int) -> int:
    if raw.startswith(b"\r\n", start):
        return start + 2
    if raw.startswith(b"\n", start):
        return start + 1
    crlf = raw.find(b"\r\n\r\n", start, end)
    lf = raw.find(b"\n\n", start, end if crlf < 0 else crlf + 2)  # never scan past a CRLF hit
    if lf >= 0 and (crlf < 0 or lf + 2 <= crlf + 4):
        return lf + 2
    return crlf + 4 if crlf >= 0 else end


_PART_FIELDS = frozenset({"content-type", "content-transfer-encoding", "content-disposition"})


def _part(raw: bytes, start: int, end: int, depth: int, default: str) -> Part:
    body_start = _body_start(raw, start, end)
    fields = parse_fields(raw[start:body_start], body_start - start)
    values = {f.name: " ".join(f.value.decode("latin-1").split()) for f in reversed(fields)
              if f.name in _PART_FIELDS}
    ctype, params = content_type(values.get("content-type", default))
    cte = values.get("content-transfer-encoding", "").strip().lower()
    disposition = values.get("content-disposition", "").split(";", 1)[0].strip().lower()
    part = Part(start, body_start, end, ctype, params, cte, disposition, depth, start, end)
    return part


def parse(raw: bytes) -> Part:
    """The root part with its tree; never raises on malformed structure."""
    root = _part(raw, 0, len(raw), 0, "text/plain")
    budget = [MAX_PARTS]
    _children(raw, root, budget)
    return root


def _children(raw: bytes, part: Part, budget: list[int]) -> None:
    if not part.ctype.startswith("multipart/"):
        return
    boundary = part.params.get("boundary", "").encode("latin-1", "replace")
    if not boundary or part.depth >= MAX_DEPTH or len(boundary) > 200:
        part.opaque = True
        return
    spans = _delimited(raw, part.body_start, part.end, b"--" + boundary)
    default = "message/rfc822" if part.ctype == "multipart/digest" else "text/plain"
    for outer_start, content_start, content_end in spans:
        if budget[0] <= 0:
            part.opaque = True
            return
        budget[0] -= 1
        child = _part(raw, content_start, content_end, part.depth + 1, default)
        child.outer_start = outer_start
        child.outer_end = content_end
        part.children.append(child)
        _children(raw, child, budget)


def _delimited(raw: bytes, start: int, end: int, delim: bytes) -> list[tuple[int, int, int]]:
    """(outer start, content start, content end) of each part between delimiter lines."""
    lines: list[tuple[int, int, bool]] = []  # (delimiter outer start, content start, closing)
    pos = start
    while pos < end:
        i = raw.find(delim, pos, end)
        if i < 0:
            break
        pos = i + len(delim)
        if i != start and raw[i - 1 : i] != b"\n":
            continue
        closing = raw.startswith(b"--", pos)
        nl = raw.find(b"\n", pos, end)
        # RFC 2046: only linear whitespace may follow "--B" or "--B--" on a delimiter line,
        # so "--XX_signed" is not a delimiter of "XX"
        if raw[pos + 2 * closing : end if nl < 0 else nl].strip(b" \t\r"):
            continue
        crlf = i - 2 >= start and raw[i - 2 : i] == b"\r\n"
        outer = i if i == start else (i - 2 if crlf else i - 1)
        lines.append((outer, end if nl < 0 else nl + 1, closing))
        if closing:
            break
        pos = end if nl < 0 else nl + 1
    spans = []
    for n, (outer, content_start, closing) in enumerate(lines):
        if closing:
            break
        content_end = lines[n + 1][0] if n + 1 < len(lines) else end
        spans.append((outer, content_start, max(content_start, content_end)))
    return spans


def decode_body(raw: bytes, part: Part) -> bytes | None:
    """Transfer-decoded body, or ``None`` when the encoding is unknown or broken."""
    body = memoryview(raw)[part.body_start : part.end]  # no copy of the encoded body
    if part.cte in ("", "7bit", "8bit", "binary"):
        return bytes(body)
    if part.cte == "quoted-printable":
        return binascii.a2b_qp(body)
    if part.cte == "base64":
        try:
            return binascii.a2b_base64(body)
        except (binascii.Error, ValueError):
            return None
    return None


def encode_body(data: bytes | bytearray, part: Part, raw: bytes, eol: bytes
                ) -> bytes | bytearray:
    """Re-apply the part's own transfer encoding, keeping its line ending and trailing newline.

    Works in chunks aligned to lines (QP) or to whole output lines (base64) so the encoded
    body is built once, in place, instead of encoded and then re-joined."""
    if part.cte == "quoted-printable":
        out = _quoted_printable(data)
        if eol == b"\r\n" and b"\r\n" not in out:
            out = bytearray(out.replace(b"\n", b"\r\n"))
    elif part.cte == "base64":
        out = _base64(data, _line_width(raw, part), eol)
    else:
        return data
    if raw[part.end - 1 : part.end] == b"\n" and not out.endswith(b"\n"):
        out += eol
    return out


def _quoted_printable(data: bytes | bytearray) -> bytearray:
    view, out, pos, size = memoryview(data), bytearray(), 0, len(data)
    first_nl = data.find(b"\n")
    crlf = first_nl > 0 and data[first_nl - 1 : first_nl] == b"\r"
    while pos < size:
        cut = data.find(b"\n", min(pos + CHUNK, size) - 1)
        stop = size if cut < 0 else cut + 1
        chunk = binascii.b2a_qp(view[pos:stop], istext=True)
        if crlf and cut < 0:  # a chunk without a newline cannot tell b2a_qp the line style
            chunk = chunk.replace(b"=\n", b"=\r\n")
        out += chunk
        pos = stop
    return out


def _base64(data: bytes | bytearray, width: int, eol: bytes) -> bytearray:
    view, out = memoryview(data), bytearray()
    step = width // 4 * 3 * 128  # whole output lines per chunk
    for at in range(0, len(data), step):
        encoded = binascii.b2a_base64(view[at : at + step], newline=False)
        if at:
            out += eol
        out += eol.join(encoded[i : i + width] for i in range(0, len(encoded), width))
    return out


def _line_width(raw: bytes, part: Part) -> int:
    nl = raw.find(b"\n", part.body_start, part.end)
    first = raw[part.body_start : nl if nl >= 0 else part.end].rstrip(b"\r")
    return len(first) if 4 <= len(first) <= 998 and len(first) % 4 == 0 else 76


def splice(raw: bytes, edits: list[tuple[int, int, bytes | bytearray]]) -> bytes:
    """Replace byte ranges; overlapping edits after the first are dropped, never merged.

    Unchanged stretches are joined through memoryviews, so the original is copied once, into
    the result, and never into intermediate slices.
    """
    if not edits:
        return raw
    view = memoryview(raw)
    pieces: list[bytes | bytearray | memoryview] = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            continue
        pieces.append(view[pos:start])
        pieces.append(new)
        pos = end
    pieces.append(view[pos:])
    return b"".join(pieces)
