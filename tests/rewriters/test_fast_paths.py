"""Shortcuts on the per-URL path must answer exactly what the general code answers.

Each shortcut skips work for the common shape of a URL (already normalised, no recipient
identity, no per-person parameter); random URLs built from the characters that steer the
general code check that the shortcut and the general path never disagree.
"""

from __future__ import annotations

import random

from rewriters.decoders import normalise_url

PIECES = ("https://", "http://", "HTTP://", "//", "\\", "/", "./", "../", ".", "..", "%74",
          "%2F", "%", "?", "#", "&", "=", "a", "B", "x.example", "É", "\t", "\n", " ", "\x00",
          "@", ":", "[", "]", "~", "-", "0")


def _urls(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    urls = []
    for _ in range(count):
        head = rng.choice(("https://", "http://", "https://shop.example/"))
        urls.append(head + "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))))
    return urls


def test_normal_urls_skip_rebuilding_with_the_same_result() -> None:
    # a leading space is stripped, and it keeps the URL off the shortcut
    for url in _urls(20_000, 7):
        assert normalise_url(url) == normalise_url(" " + url), url


def test_common_urls_come_back_as_they_are() -> None:
    for url in ("https://www.shop.example/p/0?utm_source=a&mc_eid=1",
                "https://cdn.shop.example/products/0/photo-600x400.jpg", "http://a.example",
                "https://a.example/", "https://a.example/x/#top"):
        assert normalise_url(url) == url
