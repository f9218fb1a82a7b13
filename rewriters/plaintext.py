"""Links in ``text/plain`` parts: the same unwrapping and parameter rules as HTML links.

Plain text has no markup to hide pixels in, but sales tools wrap every URL in it too. URLs are
found with one bounded regex (no nested quantifiers); the words just before a URL count as its
"link text" so ``Unsubscribe: https://...`` stays untouched.
"""

from __future__ import annotations

import re
from functools import partial

from rewriters.links import DROP_LINK, LinkRewriter

Edit = tuple[int, int, str]
# RFC 3986 characters only (quotes and square brackets aside, as before), so a URL followed
# directly by Japanese text or an em dash ends there instead of swallowing the text.
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&()*+,;=%]{1,8192}", re.IGNORECASE)
_TRAILING = ".,;:!?)'\""


def _before(text: str, at: int) -> str:
    """The words just before a URL stand in for its link text ("Unsubscribe: https://...")."""
    return text[max(0, at - 60) : at]


def rewrite_text(text: str, links: LinkRewriter, where: str = "text") -> list[Edit]:
    """Edits that clean every URL in ``text``."""
    edits: list[Edit] = []
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        if url.lower().startswith("www."):
            continue
        before = partial(_before, text, m.start())
        new = links.rewrite(url, before, where, can_drop=False)
        if new is None or new == DROP_LINK:
            continue
        edits.append((m.start(), m.start() + len(url), new))
    return edits
