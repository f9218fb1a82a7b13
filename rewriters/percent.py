"""Percent-decoding exactly as ``urllib.parse.unquote`` and ``unquote_plus`` do it (UTF-8,
invalid sequences replaced), faster for ASCII text.

The standard functions split the text into ASCII runs with a regex and rebuild each run's
bytes in a Python loop; every link of every message is decoded a few times (vendor rules,
wrapped destinations, unsubscribe words). For ASCII text, which is every URL in practice, one
``str.split("%")`` and a table of the 484 hex-digit pairs give the same bytes, and one UTF-8
decode of the whole gives the same text (the standard functions decode a whole ASCII run at
once too). Anything else goes to the standard functions.
"""

from __future__ import annotations

from urllib.parse import unquote as _std_unquote

_HEX = "0123456789ABCDEFabcdef"
_PAIRS = {a + b: chr(int(a + b, 16)) for a in _HEX for b in _HEX}


def unquote(text: str) -> str:
    """``urllib.parse.unquote(text)``."""
    if "%" not in text:
        return text
    if not text.isascii():
        return _std_unquote(text)
    bits = text.split("%")
    out = [bits[0]]
    pairs = _PAIRS
    for bit in bits[1:]:
        char = pairs.get(bit[:2])
        out.append("%" + bit if char is None else char + bit[2:])
    joined = "".join(out)
    if joined.isascii():  # ASCII bytes decode to themselves
        return joined
    # each char is one byte here: ASCII as written, or the byte a pair stands for
    return joined.encode("latin-1").decode("utf-8", "replace")


def unquote_plus(text: str) -> str:
    """``urllib.parse.unquote_plus(text)``: ``+`` is a space, then :func:`unquote`."""
    return unquote(text.replace("+", " "))
