"""Where the HTML tokenizer has to look next: tag triggers and in-tag trigger words.

One alternation of both (``<img``... or ``url(``, ``display``...) has a first-character set
full of common letters, so CPython's regex engine tries the whole pattern at nearly every
character. Split, the ``<`` triggers get the engine's fast literal-prefix search, and each
word is found with ``str.find`` (a C substring search) once per occurrence, then confirmed
with its own small pattern. The pair reports the same leftmost trigger the alternation did.
"""

from __future__ import annotations

import re

WORD_PATTERNS = (
    ("url(", r"url\("),
    ("background", r"background\s*="),
    ("display", r"display\s*:\s*none"),
    ("visibility", r"visibility\s*:\s*hidden"),
    ("opacity", r"opacity\s*:\s*0"),
    ("max-", r"max-(?:height|width)\s*:\s*[01]"),
    ("overflow", r"overflow\s*:\s*hidden"),
    ("hspace", r"hspace\s*="),
)
WORDS = "|".join(pattern for _, pattern in WORD_PATTERNS)
_COMPILED = tuple((word, re.compile(pattern)) for word, pattern in WORD_PATTERNS)
NONE = (1 << 62, 1 << 62)  # "no word left": sorts after every real offset


def tag_trigger(names: frozenset[str]) -> re.Pattern[str]:
    """``<!--`` (group 1), a start tag named in ``names`` (group 2) or ``</a`` (group 3);
    longer names first so ``<v:imagedata`` is not read as ``<v:image``."""
    ordered = sorted((re.escape(n) for n in names), key=len, reverse=True)
    return re.compile(r"<(?:(!--)|(" + "|".join(ordered) + r")(?=[\s/>])|(/a)[\s>])")


class Words:
    """The first trigger word at or after a position, for non-decreasing positions.

    Each word's next confirmed occurrence is remembered, so a word is searched for again only
    once the scan has passed it: the whole text costs one ``str.find`` pass per word.
    """

    __slots__ = ("_end", "_next", "_text", "first")

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text, self._end = text, end
        self._next = [self._find(i, start) for i in range(len(_COMPILED))]
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
        word, pattern = _COMPILED[index]
        text, end = self._text, self._end
        while True:
            at = text.find(word, pos, end)
            if at < 0:
                return NONE
            m = pattern.match(text, at, end)
            if m is not None:
                return at, m.end()
            pos = at + 1
