"""The quick "nothing here can decode" check must never skip a reference that decodes."""

from __future__ import annotations

import random

from rewriters.charrefs import _CHARREF, _attr_ref, unescape_attr

PIECES = ("&", "&amp", "&amp;", "&lt", "&LT", "&reg", "&region", "&copy=", "&si=5", "&n=1",
          "&#38;", "&#x26", "&#", "&id=", "&utm_source=x", "&not", "&notin;", "&notit;",
          "&AElig", "&e=", "&szlig", "&sect", "&zz;", "&x", "=", ";", "a", "1", " ", "é")


def test_random_values_unescape_as_the_full_substitution_does() -> None:
    rng = random.Random(5)
    for _ in range(5000):
        raw = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 8)))
        assert unescape_attr(raw) == _CHARREF.sub(_attr_ref, raw), raw


def test_bare_ampersands_between_parameters_stay() -> None:
    raw = "https://t.example/c?t=https%3A%2F%2Fx.example&si=5&n=3"
    assert unescape_attr(raw) is raw
    assert unescape_attr("?a=1&amp;b=2&reg x") == "?a=1&b=2\u00ae x"
