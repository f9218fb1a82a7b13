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


def _anchored(heads: list[tuple[str, str]]) -> tuple[re.Pattern[str], tuple[int, ...]]:
    """One pattern for the words sharing a rare character (``head[-1]``): the regex engine
    scans for its leading literal in a tight C loop, then looks behind for the letters before
    it. Group ``i`` is word ``i``'s rest; ``offsets[i - 1]`` is how far before the match that
    word starts."""
    alternatives = ("(?<=" + re.escape(head) + ")(" + rest + ")" for head, rest in heads)
    pattern = re.escape(heads[0][0][-1]) + "(?:" + "|".join(alternatives) + ")"
    return re.compile(pattern), tuple(len(head) - 1 for head, _ in heads)


_BY_ANCHOR: dict[str, list[tuple[str, str]]] = {}
for _head, _rest in _SPLIT_WORDS:
    _BY_ANCHOR.setdefault(_head[-1], []).append((_head, _rest))
_ANCHORED = tuple(_anchored(heads) for heads in _BY_ANCHOR.values())
_ANCHORS = tuple(_BY_ANCHOR)
NONE = (1 << 62, 1 << 62)  # "no word left": sorts after every real offset


def tag_trigger(names: frozenset[str]) -> re.Pattern[str]:
    """``<!--`` (group 1), a start tag named in ``names`` (group 2) or ``</a`` (group 3).

    Names are grouped by first letter, so most ``<`` (``<p>``, ``</td>``) fail after one
    comparison instead of one per name; longer names first so ``<v:imagedata`` is not read as
    ``<v:image``."""
    by_first: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        by_first.setdefault(name[0], []).append(re.escape(name[1:]))
    alternatives = "|".join(re.escape(first) + "(?:" + "|".join(rests) + ")"
                            for first, rests in by_first.items())
    return re.compile(r"<(?:(!--)|(" + alternatives + r")(?=[\s/>])|(/a)[\s>])")


class Words:
    """The first trigger word at or after a position, for non-decreasing positions.

    Each word's next confirmed occurrence is remembered, so a word is searched for again only
    once the scan has passed it: the whole text costs one pass per word.
    """

    __slots__ = ("_end", "_next", "_text", "first")

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text, self._end = text, end
        # str.find of one character is a memchr: a word whose character is absent costs nothing
        self._next = [self._find(i, start) if text.find(anchor, start, end) >= 0 else NONE
                      for i, anchor in enumerate(_ANCHORS)]
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
        pattern, offsets = _ANCHORED[index]
        at = pos + min(offsets)
        while True:
            m = pattern.search(self._text, at, self._end)
            if m is None:
                return NONE
            start = m.start() - offsets[(m.lastindex or 1) - 1]
            if start >= pos:  # a longer head may reach back before ``pos``
                return start, m.end()
            at = m.start() + 1
