"""Where the HTML tokenizer has to look next: tag triggers and in-tag trigger words.

One alternation of both (``<img``... or ``url(``, ``display``...) has a first-character set
full of common letters, so CPython's regex engine tries the whole pattern at nearly every
character. Split, the ``<`` triggers get the engine's fast literal-prefix search, and so does
each word, searched from one of its rarer characters. Together they report the same leftmost
trigger the alternation did.
"""

from __future__ import annotations

import re

# Each word as (letters up to a character that is rare in mail, pattern for the rest).
_SPLIT_WORDS = (
    ("url(", ""),
    ("back", r"ground\s*="),
    ("display", r"\s*:\s*none"),
    ("visibility", r"\s*:\s*hidden"),
    ("opacity", r"\s*:\s*0"),
    ("max", r"-(?:height|width)\s*:\s*[01]"),
    ("ov", r"erflow\s*:\s*hidden"),
    ("hspac", r"e\s*="),
)
WORDS = "|".join(re.escape(head) + rest for head, rest in _SPLIT_WORDS)
# The regex engine scans for a leading literal in a tight C loop: each word is searched from
# its rare character and confirmed by looking behind for the letters before it. (pattern,
# how many characters the word starts before the match)
_ANCHORED = tuple(
    (re.compile(re.escape(head[-1]) + "(?<=" + re.escape(head) + ")" + rest), len(head) - 1)
    for head, rest in _SPLIT_WORDS
)
NONE = (1 << 62, 1 << 62)  # "no word left": sorts after every real offset


def tag_trigger(names: frozenset[str]) -> re.Pattern[str]:
    """``<!--`` (group 1), a start tag named in ``names`` (group 2) or ``</a`` (group 3);
    longer names first so ``<v:imagedata`` is not read as ``<v:image``."""
    ordered = sorted((re.escape(n) for n in names), key=len, reverse=True)
    return re.compile(r"<(?:(!--)|(" + "|".join(ordered) + r")(?=[\s/>])|(/a)[\s>])")


class Words:
    """The first trigger word at or after a position, for non-decreasing positions.

    Each word's next confirmed occurrence is remembered, so a word is searched for again only
    once the scan has passed it: the whole text costs one pass per word.
    """

    __slots__ = ("_end", "_next", "_text", "first")

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text, self._end = text, end
        self._next = [self._find(i, start) for i in range(len(_ANCHORED))]
        self.first = min(self._next)

    def at(self, pos: int) -> tuple[int, int]:
        """(start, end) of the leftmost word match starting at ``pos`` or later, else ``NONE``."""
        if self.first[0] >= pos:
            return self.first
        nexts = self._next
        for i, found in enumerate(nexts):
            if found[0] < pos:
                nexts[i] = self._find(i, pos)
        self.first = min(nexts)
        return self.first

    def _find(self, index: int, pos: int) -> tuple[int, int]:
        pattern, offset = _ANCHORED[index]
        m = pattern.search(self._text, pos + offset, self._end)
        return NONE if m is None else (m.start() - offset, m.end())
