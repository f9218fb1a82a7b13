"""The fast percent-decoder must agree with urllib's on every input, valid or not."""

from __future__ import annotations

import random
import urllib.parse

from rewriters.percent import unquote, unquote_plus

PIECES = ("%", "%4", "%41", "%4g", "%G1", "%%", "%2B", "%20", "%C3", "%A9", "%E2%82", "%AC",
          "%F0%9F%98", "%80", "%FF", "%ED%A0%80", "%c3%a9", "+", "a", "Z", " ", "/", "?", "&",
          "=", "\\", "é", "€", "\x00", "\x7f", "\ud800", "😀")


def test_random_texts_decode_as_urllib_does() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 12)))
        assert unquote(text) == urllib.parse.unquote(text), repr(text)
        assert unquote_plus(text) == urllib.parse.unquote_plus(text), repr(text)


def test_every_byte_decodes_as_urllib_does() -> None:
    for byte in range(256):
        for text in (f"%{byte:02X}", f"%{byte:02x}x", f"a%{byte:02X}%{255 - byte:02x}"):
            assert unquote(text) == urllib.parse.unquote(text)


def test_text_without_escapes_is_returned_as_is() -> None:
    text = "https://www.example.com/pricing"
    assert unquote(text) is text
