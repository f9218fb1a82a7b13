"""The split trigger search (``<`` pattern plus word finder) must report exactly the triggers
one combined alternation would: the tokenizer's output depends on every one of them."""

from __future__ import annotations

import random
import re

from rewriters.html import _RAW_TEXT, URL_TAGS
from rewriters.triggers import NONE, WORDS, Words, tag_trigger

from .conftest import DATA

NAMES = sorted((re.escape(n) for n in URL_TAGS | _RAW_TEXT), key=len, reverse=True)
# the tokenizer's original single pattern: every tag name in one flat alternation, then words
COMBINED = re.compile(r"<(?:(!--)|(" + "|".join(NAMES) + r")(?=[\s/>])|(/a)[\s>])|" + WORDS)
PIECES = ("<a ", "</a>", "<img", "<!--", "url(", "background =", "background", "display:none",
          "display : none", "display:block", "visibility:hidden", "opacity:0", "opacity:1",
          "max-height:0", "max-width:1", "max-width:9", "overflow:hidden", "hspace=", "x", " ",
          ">", "\n", "<v:image", "<v:imagedata ", "<style>", "<p>", "u", "ur", "=")


def split_triggers(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Leftmost triggers from ``start``, each search resuming at the previous trigger's end."""
    pattern, words = tag_trigger(URL_TAGS | _RAW_TEXT), Words(text, start, end)
    found: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        m = pattern.search(text, pos, end)
        word = words.at(pos)
        if m is None and word is NONE:
            return found
        hit = word if m is None or word[0] < m.start() else (m.start(), m.end())
        found.append(hit)
        pos = hit[1]
    return found


def combined_triggers(text: str, start: int, end: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        m = COMBINED.search(text, pos, end)
        if m is None:
            return found
        found.append((m.start(), m.end()))
        pos = m.end()
    return found


def test_random_texts_find_the_same_triggers() -> None:
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 60)))
        start = rng.randrange(len(text))
        end = rng.randrange(start, len(text) + 1)
        assert split_triggers(text, start, end) == combined_triggers(text, start, end), text


def test_fixtures_find_the_same_triggers() -> None:
    for path in sorted(DATA.rglob("*.eml")):
        text = path.read_bytes().decode("utf-8", "replace").lower()
        assert split_triggers(text, 0, len(text)) == combined_triggers(text, 0, len(text))


def test_every_start_inside_a_word_finds_what_the_alternation_finds() -> None:
    # words sharing a rare character are searched together: a longer head must not reach back
    # before the start (visibility's "y" comes 9 letters in, display's only 6)
    for text in ("visibility:hidden display:none", "opacity:0visibility : hidden",
                 "<td style=visibility:hidden;display:none;opacity:0;overflow:hidden>"):
        for start in range(len(text) + 1):
            assert split_triggers(text, start, len(text)) == combined_triggers(
                text, start, len(text)), (text, start)
