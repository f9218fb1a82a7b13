"""Turn a part's bytes into text we can edit and back, without mojibake.

A charset is only used if it round-trips the part exactly (decode then encode gives the same
bytes), so untouched text re-encodes to the very same bytes. Mislabelled ASCII-compatible parts
fall back to Latin-1, which maps every byte to one character and back: edits happen in ASCII
markup, so the bytes around them survive whatever the real charset was. Parts in a charset that
is not ASCII-compatible and does not decode are left alone.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter

# Declared names that senders routinely use for a superset.
SUPERSETS = {
    "gb2312": "gbk",
    "x-gbk": "gbk",
    "ks_c_5601-1987": "cp949",
    "shift-jis": "shift_jis",
    "x-sjis": "shift_jis",
    "iso-8859-8-i": "iso-8859-8",
}
NOT_ASCII_COMPATIBLE = ("utf-16", "utf-32", "utf-7", "iso2022", "hz", "cp037", "cp500")
TRANSPARENT = "latin-1"
CHUNK = 64 * 1024
# Codecs whose incremental encoder keeps no state between calls (names as codecs.lookup gives
# them, plus TRANSPARENT as Text stores it)
STATELESS = frozenset({"utf-8", "ascii", "iso8859-1", TRANSPARENT})
_SPAN = itemgetter(0, 1)  # edits sort by (start, end)


@dataclass(frozen=True)
class Text:
    """Decoded text plus the codec that reproduces the original bytes; ``guessed`` if fallback."""

    text: str
    codec: str
    guessed: bool


def _codec(name: str) -> str | None:
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _round_trips(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode(codec)
        return text if text.encode(codec) == data else None
    except (UnicodeError, LookupError, ValueError):
        return None


def decode(data: bytes, declared: str) -> Text | None:
    """Editable text for ``data`` or ``None`` when no safe reading exists."""
    codec = _codec(declared or "us-ascii")
    if codec is not None:
        text = _round_trips(data, codec)
        if text is not None:
            return Text(text, codec, False)
    if codec is not None and codec.startswith(NOT_ASCII_COMPATIBLE):
        return None
    text = _round_trips(data, "utf-8")
    if text is not None and (codec is None or codec == "ascii"):
        return Text(text, "utf-8", True)
    return Text(data.decode(TRANSPARENT), TRANSPARENT, True)


def encode_spliced(decoded: Text, edits: list[tuple[int, int, str]], html: bool
                   ) -> bytearray | None:
    """``decoded.text`` with ``edits`` spliced in, encoded piece by piece; ``None`` if no edit
    changes anything. Overlapping later edits are dropped, as in ``markup.apply_edits``.

    The edited text is never built as a whole: with the original and the encoded result that
    would be three copies of the part alive at once. One incremental encoder keeps stateful
    codecs (ISO-2022-JP) byte-identical to encoding the whole text.
    """
    text = decoded.text
    if all(text[start:end] == new for start, end, new in edits):
        return None
    encode, finish = _encoder(decoded.codec, "xmlcharrefreplace" if html else "replace")
    out = bytearray()
    pos = 0
    for start, end, new in sorted(edits, key=_SPAN):
        if start < pos:
            continue
        _encode_span(out, encode, text, pos, start)
        out += encode(new)
        pos = end
    _encode_span(out, encode, text, pos, len(text))
    out += finish()
    return out


def _encoder(codec: str, errors: str) -> tuple[Callable[[str], bytes], Callable[[], bytes]]:
    """(encode one piece, flush at the end). Stateless codecs call the codec's C function
    directly; others share one incremental encoder, so stateful codecs (ISO-2022-JP) stay
    byte-identical to encoding the whole text."""
    if codec in STATELESS:
        stateless = codecs.lookup(codec).encode
        return (lambda piece: stateless(piece, errors)[0]), bytes
    encoder = codecs.getincrementalencoder(codec)(errors)
    return encoder.encode, lambda: encoder.encode("", final=True)


def _encode_span(out: bytearray, encode: Callable[[str], bytes], text: str, start: int,
                 end: int) -> None:
    if end - start <= CHUNK:  # spans between edits are mostly short: one piece
        if end > start:
            out += encode(text[start:end])
        return
    for at in range(start, end, CHUNK):
        out += encode(text[at : min(at + CHUNK, end)])
