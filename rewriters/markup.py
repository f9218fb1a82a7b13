"""Apply the treatment to one decoded HTML body: compute character-range edits, never re-render.

Every place a tracker can hide (trackers.md section 4) maps to one small rule here: a pixel
``<img>`` loses its whole tag, a tracked attribute on a layout element (``background=``, a VML
``src``, a ``poster``) loses only that attribute, a CSS beacon loses only its declaration or
at-rule, and a link keeps its tag with a cleaned ``href``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from rewriters import css
from rewriters.charrefs import unescape_attr
from rewriters.decisions import Decider
from rewriters.decoders import MAX_URL, normalise_url, split_url
from rewriters.detection import Detection, Detector
from rewriters.html import Attr, Scan, Tag, link_text
from rewriters.links import DROP_LINK, LinkRewriter
from rewriters.pixels import invisible, large
from rewriters.srcset import candidates

Edit = tuple[int, int, str]
MAX_STYLESHEET = 512 * 1024
MAX_STYLE_ATTR = 16 * 1024
LINK_TAGS = frozenset({"a", "area", "v:roundrect", "v:rect", "v:oval", "v:shape"})
# tag -> (attribute, finding kind); the attribute alone goes when its URL tracks
RESOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "source": (("src", "open_pixel"),),
    "video": (("poster", "open_pixel"), ("src", "open_pixel")),
    "audio": (("src", "open_pixel"),),
    "track": (("src", "open_pixel"),),
    "iframe": (("src", "open_pixel"),),
    "frame": (("src", "open_pixel"),),
    "embed": (("src", "open_pixel"),),
    "bgsound": (("src", "open_pixel"),),
    "object": (("data", "open_pixel"),),
    "image": (("href", "open_pixel"), ("xlink:href", "open_pixel")),
    "v:fill": (("src", "open_pixel"),),
    "v:image": (("src", "open_pixel"),),
    "v:imagedata": (("src", "open_pixel"),),
}
FETCHING_RELS = frozenset({"stylesheet", "preload", "prefetch", "dns-prefetch", "preconnect",
                           "prerender", "modulepreload", "icon"})
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s;]+)", re.IGNORECASE)


def escape_attr(value: str, quote: str, raw_amp: bool = False) -> str:
    """A new attribute value token in the original quote style (unquoted ones get quotes,
    since a cleaned URL may contain characters an unquoted value cannot hold).

    ``raw_amp`` keeps the original's bare ``&`` style (``?a=1&b=2``) when no ``&`` of the new
    value would then read as a character reference; otherwise every ``&`` becomes ``&amp;``.
    """
    q = quote or '"'
    quoted = "&quot;" if q == '"' else "&#39;"
    if raw_amp:
        out = value.replace(q, quoted)
        if unescape_attr(out) == value:
            return q + out + q
    out = value.replace("&", "&amp;").replace(q, quoted)
    return q + out + q


class HtmlRewriter:
    """Walks the tokenizer's tags and ``<style>`` bodies of one part and collects edits."""

    def __init__(self, text: str, scan: Scan, detector: Detector, decider: Decider) -> None:
        self.text = text
        self.scan = scan
        self.detector = detector
        self.decider = decider
        self.links = LinkRewriter(detector, decider)
        self.edits: list[Edit] = []
        self.base = base_href(scan)

    def run(self) -> list[Edit]:
        for tag in self.scan.tags:
            self._tag(tag)
        for start, end, in_comment in self.scan.styles:
            self._stylesheet(start, end, "comment" if in_comment else "css")
        return self.edits

    def _decide(self, url: str, kind: str, where: str, hidden: bool,
                sized: bool = False) -> str | None:
        """``""`` to remove, a routed URL to substitute, ``None`` to leave as is."""
        if self.base is not None:
            url = resolve(self.base, url)
        det = self.detector.resource(url, kind, hidden, sized)
        if det is None:
            return None
        return self._act(det, url, where)

    def _act(self, det: Detection, url: str, where: str) -> str | None:
        if self.decider.strips(det.vendor, det.purpose):
            self.decider.record(det, where, "removed")
            return ""
        routed = self.decider.route(url, det.purpose)
        self.decider.record(det, where, "routed" if routed else "kept")
        return routed

    def _tag(self, tag: Tag) -> None:
        where = "comment" if tag.in_comment else "element"
        if self._void(tag, where):
            self.edits.append((tag.start, tag.end, ""))
            return
        for attr_name, kind in RESOURCES.get(tag.name, ()):
            attr = tag.attrs.get(attr_name)
            if attr is not None:
                self._attr_resource(tag, attr, kind, where)
        background = tag.attrs.get("background")
        if background is not None:
            self._attr_resource(tag, background, "open_pixel", where)
        if "srcset" in tag.attrs and self._srcset(tag, tag.attrs["srcset"], where):
            self.edits.append((tag.start, tag.end, ""))
            return
        if "style" in tag.attrs:
            self._style_attr(tag.attrs["style"], where)
        if tag.name in LINK_TAGS and "href" in tag.attrs:
            self._link(tag, tag.attrs["href"], where)

    def _void(self, tag: Tag, where: str) -> bool:
        """Elements that only exist to fetch: True when the whole tag must go."""
        name = tag.name
        if name == "img" or (name == "input" and (tag.get("type") or "").lower() == "image"):
            src = tag.attrs.get("src")
            result = (self._decide(src.value, "open_pixel", where, invisible(tag), large(tag))
                      if src else None)
            if src is not None and result:
                self._set(src, result)
            return result == ""
        if name == "link":
            rels = set((tag.get("rel") or "").lower().split())
            if rels & FETCHING_RELS:
                kind = "css_beacon" if "stylesheet" in rels else "prefetch"
                return self._decide(tag.get("href") or "", kind, where, False) == ""
        if name == "meta" and (tag.get("http-equiv") or "").lower() == "refresh":
            m = _REFRESH_URL.search(tag.get("content") or "")
            return m is not None and self._decide(m.group(1), "open_pixel", where, False) == ""
        return False

    def _set(self, attr: Attr, value: str | None) -> None:
        if value == "":
            self.edits.append((attr.start, attr.end, ""))
        elif value is not None:
            raw = attr.raw
            raw_amp = "&" in raw and "&amp;" not in raw.lower()
            self.edits.append((attr.value_start, attr.end,
                               escape_attr(value, attr.quote, raw_amp)))

    def _attr_resource(self, tag: Tag, attr: Attr, kind: str, where: str) -> None:
        hidden = tag.name in ("img", "v:image", "v:imagedata") and invisible(tag)
        self._set(attr, self._decide(attr.value, kind, where, hidden))

    def _srcset(self, tag: Tag, attr: Attr, where: str) -> bool:
        """Drop or route tracked candidates; True when a ``<source>`` has nothing left.
        Candidates left alone are kept verbatim (URLs with commas, descriptors as written)."""
        value = attr.value
        changed = False
        kept: list[str] = []
        for start, url_end, end in candidates(value):
            url = value[start:url_end]
            result = self._decide(url, "open_pixel", where, False)
            changed = changed or result is not None
            if result is None:
                kept.append(value[start:end])
            elif result != "":
                kept.append(result + value[url_end:end])
        if not changed:
            return False
        if not kept and tag.name == "source" and "src" not in tag.attrs:
            return True
        self._set(attr, ", ".join(kept) if kept else "")
        return False

    def _style_attr(self, attr: Attr, where: str) -> None:
        value = attr.value
        if len(value) > MAX_STYLE_ATTR:
            self.decider.notes.append(f"style attribute of {len(value)} characters not scanned")
            return
        if not css.worth_parsing(value):  # most inline styles: nothing to tokenize
            return
        if "url(" in value.lower() and not self.decider.spend_css(len(value)):
            return
        cuts: list[Edit] = []
        for found in css.declaration_urls(value):
            result = self._decide(found.url, "css_beacon", "css", False)
            if result is not None:
                cuts.append(_css_edit(value, found, result))
        if cuts:
            self._set(attr, apply_edits(value, cuts) or " ")

    def _stylesheet(self, start: int, end: int, where: str) -> None:
        if end - start > MAX_STYLESHEET:  # tinycss2 is pure Python: bound the time it can take
            self.decider.notes.append(f"<style> block of {end - start} characters not scanned")
            return
        if not self.decider.spend_css(end - start):
            return
        for found in css.loading_rules(self.text[start:end], start):
            kind = "remote_font" if found.kind == "font" else "css_beacon"
            result = self._decide(found.url, kind, where, bool(found.hint))
            if result is not None:
                self.edits.append(_css_edit(self.text, found, result))

    def _link(self, tag: Tag, attr: Attr, where: str) -> None:
        droppable = tag.name == "a" and tag.close_start >= 0
        new = self.links.rewrite(attr.value, lambda: link_text(self.text, tag), where, droppable)
        if new is None:
            return
        if new != DROP_LINK:
            self._set(attr, new)
        else:
            self.edits.append((tag.start, tag.end, ""))
            self.edits.append((tag.close_start, tag.close_end, ""))


_HAS_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


def base_href(scan: Scan) -> str | None:
    """The document base URL: the first ``<base href>`` outside comments, when it is an
    absolute http(s) URL (normalised as a browser would read it); otherwise ``None``."""
    for tag in scan.tags:
        if tag.name != "base" or tag.in_comment:
            continue
        href = tag.get("href")
        if href is None:
            continue
        base = normalise_url(href)
        parts = split_url(base) if len(base) <= MAX_URL else None
        if parts is None or parts.scheme not in ("http", "https"):
            return None
        return base
    return None


def resolve(base: str, url: str) -> str:
    """``url`` resolved against ``base`` when it is relative (for matching and routing only:
    a URL the engine keeps is written back as it was)."""
    stripped = url.strip(" \t\n\r\f")
    if not stripped or len(stripped) > MAX_URL or stripped.startswith(("#", "//", "\\")):
        return url
    if _HAS_SCHEME.match(stripped):
        return url
    try:
        return urljoin(base, stripped)
    except ValueError:
        return url


def _css_edit(text: str, found: css.CssUrl, result: str) -> Edit:
    if result == "":
        return (found.start, found.end, "")
    return (found.start, found.end, text[found.start : found.end].replace(found.url, result, 1))


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Splice character-range edits into ``text``; overlapping later edits are dropped."""
    if not edits:
        return text
    pieces: list[str] = []
    pos = 0
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            continue
        pieces.append(text[pos:start])
        pieces.append(new)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)
