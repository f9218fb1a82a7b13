"""Image candidates of a ``srcset`` attribute, with their offsets in the value.

Kept apart from :mod:`rewriters.markup` so the rewriter stays short; the offsets let the
rewriter keep candidates it leaves alone exactly as written.
"""

from __future__ import annotations

_SPACES = " \t\n\r\f"


def candidates(srcset: str) -> list[tuple[int, int, int]]:
    """(start, URL end, end) of each image candidate, parsed as HTML5 does: the URL is a run
    of non-whitespace (commas inside it belong to it, trailing ones end the candidate), and
    descriptors run to the next comma outside parentheses."""
    out: list[tuple[int, int, int]] = []
    pos, size = 0, len(srcset)
    while True:
        while pos < size and (srcset[pos] == "," or srcset[pos] in _SPACES):
            pos += 1
        if pos >= size:
            return out
        start = pos
        while pos < size and srcset[pos] not in _SPACES:
            pos += 1
        url_end = pos
        while url_end > start and srcset[url_end - 1] == ",":
            url_end -= 1
        if url_end < pos:  # "url," ends the candidate: no descriptors
            if url_end > start:
                out.append((start, url_end, url_end))
            continue
        depth = 0
        while pos < size and (srcset[pos] != "," or depth):
            if srcset[pos] == "(":
                depth += 1
            elif srcset[pos] == ")" and depth:
                depth -= 1
            pos += 1
        end = pos
        while srcset[end - 1] in _SPACES:
            end -= 1
        out.append((start, url_end, end))
