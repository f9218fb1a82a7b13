"""Stateless codecs encode edited parts with ``str.encode``: the bytes must be the ones one
incremental encoder gives."""

from __future__ import annotations

import codecs

from rewriters.charsets import STATELESS, Text, encode_spliced

TEXT = "caf\u00e9 \u20ac <a href=x>\U0001f600</a> \udcff end"
EDITS = [(9, 10, "\u00fc\u4e2d"), (0, 4, "CAFE"), (20, 20, "\ud800!")]


def incremental(text: str, edits: list[tuple[int, int, str]], codec: str, errors: str) -> bytes:
    encoder = codecs.getincrementalencoder(codec)(errors)
    out, pos = b"", 0
    for start, end, new in sorted(edits):
        out += encoder.encode(text[pos:start]) + encoder.encode(new)
        pos = end
    return out + encoder.encode(text[pos:]) + encoder.encode("", final=True)


def test_stateless_codecs_give_the_incremental_encoders_bytes() -> None:
    for codec in STATELESS:
        for html in (True, False):
            errors = "xmlcharrefreplace" if html else "replace"
            got = encode_spliced(Text(TEXT, codec, False), EDITS, html)
            assert got == incremental(TEXT, EDITS, codec, errors), (codec, html)
