"""An offset-reporting HTML tokenizer that only looks where trackers can hide.

It reports the exact character span of every tag, attribute and ``<style>`` body it cares about,
so edits can be spliced into the original text and everything else (entities, doctype, quoting,
whitespace, conditional-comment markers) stays as written. The scan is one forward pass with
possessive regexes (no backtracking) and ``str.find``; tags that cannot carry a URL are skipped
after finding their end. Outlook conditional comments are scanned as markup, since Outlook
renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape

_OPEN = re.compile(
    r"<(?:(!--)|/([a-zA-Z][^\t\n\f\r />]*+)[^>]{0,1000}+>|([a-zA-Z][^\t\n\f\r />]*+)|[!?/])"
)
_TAG_REST = re.compile(r"(?:[^>\"'=]++|=\s*+\"[^\"]*+\"|=\s*+'[^']*+'|[=\"'])*+>")
_ATTR = re.compile(
    r"\s*+([^\s\"'>/=][^\s\"'>/=]*+)(?:\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)'|([^\s>]++)))?"
)
_RAW_TEXT = {"style", "script", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
_WORDS = r"url\(|background|display|hidden|max-height|opacity|hspace|src\s*="
URL_TAGS = frozenset({
    "img", "a", "area", "source", "input", "video", "audio", "iframe", "object", "embed",
    "meta", "link", "image", "frame", "bgsound", "track", "applet",
    "v:roundrect", "v:rect", "v:oval", "v:fill", "v:image", "v:imagedata", "v:shape",
})
_RAW_END = {name: re.compile(r"</" + name + r"(?=[\s/>])", re.IGNORECASE) for name in _RAW_TEXT}
CONTAINERS = frozenset({"div", "span", "td", "table", "tr", "p", "center", "font", "section",
                        "tbody", "th"})
_WORTH_PARSING = re.compile(_WORDS, re.IGNORECASE)


@dataclass(slots=True)
class Attr:
    """One attribute: unescaped value; ``start`` includes the whitespace before the name."""

    name: str
    value: str
    start: int
    end: int
    value_start: int
    quote: str


@dataclass
class Tag:
    """A start tag worth inspecting, with where it sits and what surrounds it."""

    name: str
    start: int
    end: int
    attrs: dict[str, Attr]
    in_comment: bool
    hidden_container: bool
    close_start: int = -1
    close_end: int = -1
    invisible: bool | None = None  # memo for rewriters.pixels.invisible

    def get(self, name: str) -> str | None:
        attr = self.attrs.get(name)
        return None if attr is None else attr.value


@dataclass
class Scan:
    """What the tokenizer found: interesting tags and ``<style>`` bodies (content spans)."""

    tags: list[Tag] = field(default_factory=list)
    styles: list[tuple[int, int, bool]] = field(default_factory=list)


def parse_attrs(text: str, start: int, end: int) -> dict[str, Attr]:
    """Attributes of the tag text ``text[start:end]``; the first of duplicate names wins."""
    attrs: dict[str, Attr] = {}
    for m in _ATTR.finditer(text, start, end):
        name = m.group(1).lower()
        if name in attrs:
            continue
        value = m.group(2)
        if value is not None:
            vstart, quote = m.start(2) - 1, '"'
        elif m.group(3) is not None:
            value, vstart, quote = m.group(3), m.start(3) - 1, "'"
        elif m.group(4) is not None:
            value, vstart, quote = m.group(4), m.start(4), ""
        else:
            value, vstart, quote = "", m.end(), ""
        if "&" in value:
            value = unescape(value)
        attrs[name] = Attr(name, value, m.start(), m.end(), vstart, quote)
    return attrs


class _Scanner:
    def __init__(self, text: str, hiding: Callable[[Tag], bool] | None) -> None:
        self.text = text
        self.scan = Scan()
        self.hidden: list[tuple[str, int]] = []  # (hiding container name, nesting count)
        self.anchors: list[Tag] = []
        self.is_hiding = hiding

    def run(self, start: int, end: int, in_comment: bool) -> None:
        text, pos = self.text, start
        while pos < end:
            m = _OPEN.search(text, pos, end)
            if m is None:
                return
            if m.group(3):
                pos = self._tag(m.start(), m.end(), m.group(3).lower(), end, in_comment)
            elif m.group(2):
                pos = m.end()
                if self.hidden or self.anchors:
                    self._end_tag(m.group(2).lower(), m.start(), pos)
            elif m.group(1):
                # "<!--" inside a comment is text: comments never nest
                pos = m.end() if in_comment else self._comment(m.start(), end)
            else:
                close = text.find(">", m.end(), end)
                pos = end if close < 0 else close + 1

    def _comment(self, start: int, end: int) -> int:
        text = self.text
        if text.startswith((">", "->"), start + 4):
            return text.find(">", start + 4) + 1
        close = text.find("-->", start + 4, end)
        stop = end if close < 0 else close
        if text.startswith("[if", start + 4):
            inner = text.find("]>", start + 4, stop)
            if inner >= 0:
                self.run(inner + 2, stop, True)
        return end if close < 0 else close + 3

    def _tag(self, start: int, name_end: int, name: str, end: int, in_comment: bool) -> int:
        text = self.text
        rest = _TAG_REST.match(text, name_end, end)
        if rest is None:
            return end  # no ">" before the end: the tag runs to EOF, as in HTML5
        tag_end = rest.end()
        hidden = self.hidden
        if hidden and hidden[-1][0] == name:
            hidden[-1] = (name, hidden[-1][1] + 1)
        if name in URL_TAGS or _WORTH_PARSING.search(text, name_end, tag_end):
            self._start_tag(name, start, name_end, tag_end, in_comment)
        if name in _RAW_TEXT:
            close = _RAW_END[name].search(text, tag_end, end)
            body_end = end if close is None else close.start()
            if name == "style":
                self.scan.styles.append((tag_end, body_end, in_comment))
            return body_end
        return tag_end

    def _start_tag(self, name: str, start: int, attrs_at: int, end: int, in_comment: bool) -> None:
        attrs = parse_attrs(self.text, attrs_at, end - 1)
        tag = Tag(name, start, end, attrs, in_comment, bool(self.hidden))
        hiding = name in CONTAINERS and self.is_hiding is not None and self.is_hiding(tag)
        if hiding and not (self.hidden and self.hidden[-1][0] == name):
            self.hidden.append((name, 1))
        self.scan.tags.append(tag)
        if name == "a":
            self.anchors.append(tag)

    def _end_tag(self, name: str, start: int, end: int) -> None:
        if self.hidden and self.hidden[-1][0] == name:
            count = self.hidden[-1][1] - 1
            self.hidden[-1] = (name, count)
            if count <= 0:
                self.hidden.pop()
        if name == "a" and self.anchors:
            anchor = self.anchors.pop()
            anchor.close_start, anchor.close_end = start, end


def scan(text: str, hiding: Callable[[Tag], bool] | None = None) -> Scan:
    """Tokenize ``text`` once; ``hiding(tag)`` says whether a container hides its content."""
    scanner = _Scanner(text, hiding)
    scanner.run(0, len(text), False)
    return scanner.scan


def link_text(text: str, tag: Tag, limit: int = 2000) -> str:
    """Visible text of an anchor (tags dropped), bounded so a missing ``</a>`` costs little."""
    if tag.close_start < 0:
        return ""
    inner = text[tag.end : min(tag.close_start, tag.end + limit)]
    return " ".join(re.sub(r"<[^<>]{0,2000}>", " ", inner).split())
