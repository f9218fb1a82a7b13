"""Generic signals that an image or other fetched resource is an open beacon.

Vendor rules catch the trackers we know; these signals catch the ones nobody listed: a tiny or
hidden image, a tracking-looking path with a per-message token, a hiding container. The
exemptions (``cid:``/``data:``, repeated spacers, hosts that also serve real images, known
spacer names) come from the false positives other blockers shipped and then had to revert.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from rewriters.decoders import split_url
from rewriters.html import Tag

MAX_AREA = 25
REPEAT_EXEMPT = 5
_TOKEN = re.compile(r"[A-Za-z0-9_\-=+.%]{20,}")
_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)")


def style_props(style: str) -> dict[str, str]:
    """``display: none; Width:1px`` -> ``{"display": "none", "width": "1px"}`` (last wins)."""
    props: dict[str, str] = {}
    for decl in style[:4096].lower().split(";"):  # one lower(): it never makes ";" or ":"
        name, colon, value = decl.partition(":")
        if colon:
            value = "".join(value.split())
            props[name.strip()] = value.replace("!important", "") if "!" in value else value
    return props


def _size(value: str | None) -> float | None:
    if value is None:
        return None
    if value.isascii() and value.isdigit():  # width="1": what _NUMBER would read, whole
        return float(value)
    m = _NUMBER.match(value)
    return float(m.group(1)) if m else None


def _tiny_length(value: str | None) -> bool:
    return value in ("0", "0px", "1px", "1", "0em", "0%")


def hides(style: str) -> bool:
    """True when a style makes its element and its content invisible."""
    return bool(style) and _hiding(style_props(style))


def _hiding(props: dict[str, str]) -> bool:
    if props.get("display") == "none" or props.get("visibility") == "hidden":
        return True
    if props.get("opacity") in ("0", "0.0", "0%"):
        return True
    if _tiny_length(props.get("max-height")) or _tiny_length(props.get("max-width")):
        return True
    tiny_box = _tiny_length(props.get("height")) or _tiny_length(props.get("width"))
    return tiny_box and props.get("overflow") == "hidden"


def container_hides(tag: Tag) -> bool:
    """Hook for the tokenizer: does this container hide what it wraps?"""
    return hides(tag.get("style") or "") or tag.get("hspace") == "streak-pt-mark"


def tiny(tag: Tag, props: dict[str, str] | None = None) -> bool:
    """Declared size of at most ``MAX_AREA`` pixels (attributes or inline CSS), or zero."""
    if props is None:
        props = style_props(tag.get("style") or "")
    width_attr, height_attr = tag.get("width"), tag.get("height")
    width = _size(width_attr if width_attr is not None else props.get("width"))
    height = _size(height_attr if height_attr is not None else props.get("height"))
    if width == 0 or height == 0:
        return True
    return width is not None and height is not None and width * height <= MAX_AREA


def invisible(tag: Tag) -> bool:
    """Tiny, hidden by its own style, or inside a hiding container (memoised on the tag)."""
    if tag.invisible is None:
        style = tag.get("style") or ""
        props = style_props(style) if style else {}
        tag.invisible = tiny(tag, props) or _hiding(props) or tag.hidden_container
    return tag.invisible


def _entropy(token: str) -> float:
    counts = Counter(token)
    total = len(token)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def high_entropy(text: str) -> bool:
    """A long token mixing letters and digits with high entropy: a per-message id."""
    for m in _TOKEN.finditer(text[:4096]):
        token = m.group(0)
        mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if mixed and _entropy(token) >= 3.5:
            return True
    return False


def tracking_path(path_and_query: str, tokens: tuple[str, ...]) -> bool:
    """A tracking word as a whole path piece: ``/open/``, ``/open?``, ``/track.gif``, but not
    ``/open-house/`` or ``/tracks/`` (real content lives under such paths)."""
    low = path_and_query[:4096].lower()
    for token in tokens:
        at = low.find(token)
        while at >= 0:
            after = at + len(token)
            if not token[-1].isalnum() or after >= len(low):
                return True  # the token itself ends at a boundary ("/e/o/", "=open")
            if not low[after].isalpha() and low[after] != "-":
                return True
            at = low.find(token, after)
    return False


def large(tag: Tag) -> bool:
    """Declared at a real content size (both dimensions, at least 20x20): not a pixel."""
    width, height = _size(tag.get("width")), _size(tag.get("height"))
    return width is not None and height is not None and width * height >= 400


def spacer(path: str, names: frozenset[str]) -> bool:
    return path.rsplit("/", 1)[-1].lower() in names


@dataclass
class ImageStats:
    """Message-wide facts behind the exemptions: how often each URL repeats, real-image hosts."""

    counts: Counter[str] = field(default_factory=Counter)
    real: dict[str, set[str]] = field(default_factory=dict)

    def add(self, url: str, tag: Tag) -> None:
        self.counts[url] += 1
        if not invisible(tag):
            parts = split_url(url)
            urls = self.real.setdefault(parts.host.lower(), set()) if parts else None
            if urls is not None and len(urls) < 2:
                urls.add(url)

    def host_serves_real_images(self, host: str, url: str) -> bool:
        """True when another, visible image comes from ``host`` (the URL cannot exempt itself)."""
        return any(other != url for other in self.real.get(host.lower(), ()))
