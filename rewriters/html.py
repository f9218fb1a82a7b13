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

from rewriters.charrefs import unescape_attr
from rewriters.triggers import NONE, WORDS, Words, tag_trigger

_TAG_REST = re.compile(r"(?:[^>\"'=]++|=\s*+\"[^\"]*+\"|=\s*+'[^']*+'|[=\"'])*+>")
_ATTR = re.compile(
    r"\s*+([^\s\"'>/=][^\s\"'>/=]*+)(?:\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)'|([^\s>]++)))?"
)
_RAW_TEXT = {"style", "script", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
URL_TAGS = frozenset({
    "img", "a", "area", "base", "source", "input", "video", "audio", "iframe", "object", "embed",
    "meta", "link", "image", "frame", "bgsound", "track", "applet",
    "v:roundrect", "v:rect", "v:oval", "v:fill", "v:image", "v:imagedata", "v:shape",
})
_RAW_END = {name: re.compile(r"</" + name + r"(?=[\s/>])") for name in _RAW_TEXT}
CONTAINERS = frozenset({"div", "span", "td", "table", "tr", "p", "center", "font", "section",
                        "tbody", "th"})
_WORTH_PARSING = re.compile(WORDS)
RELEVANT = frozenset({
    "src", "srcset", "href", "xlink:href", "background", "style", "width", "height", "type",
    "rel", "http-equiv", "content", "poster", "data", "hspace", "ping",
})
_RELEVANT = {name: name for name in RELEVANT}
_QUOTE_OF = {2: '"', 3: "'", 4: ""}  # _ATTR's value groups
_NAMES = {name: name for name in URL_TAGS | _RAW_TEXT | CONTAINERS}
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_NAME = re.compile(r"[a-zA-Z][^\t\n\f\r />]*+")
_TRIGGER = tag_trigger(URL_TAGS | _RAW_TEXT)
_INNER_TAG = re.compile(r"<[^<>]{0,2000}>")
_CONTAINER_TAGS = {
    name: re.compile(r"<(/?)" + name + r"(?=[\s/>])[^>]{0,4000}>")
    for name in CONTAINERS
}


class Attr:
    """One attribute; ``start`` includes the whitespace before the name.

    Offsets are stored relative to the end of the tag name, where CPython's shared small ints
    cover them, and the value is sliced and unescaped on first use: a newsletter has thousands
    of attributes, and the token list is alive while the part is scanned.
    """

    __slots__ = ("_base", "_end", "_start", "_text", "_value", "_vstart", "name", "quote")

    def __init__(self, name: str, text: str, base: int, offsets: tuple[int, int, int],
                 quote: str) -> None:
        self.name, self.quote, self._text, self._base = name, quote, text, base
        self._start, self._end, self._vstart = offsets
        self._value: str | None = None

    @property
    def value(self) -> str:
        """The value as a browser reads it (a property, not ``__getattr__`` on an unset slot:
        that path raises and catches an AttributeError inside CPython first)."""
        if self._value is None:
            self._value = unescape_attr(self.raw)
        return self._value

    @property
    def raw(self) -> str:
        """The value as written, references not decoded and quotes not included."""
        inner = 1 if self.quote else 0
        return self._text[self._base + self._vstart + inner : self._base + self._end - inner]

    @property
    def start(self) -> int:
        return self._base + self._start

    @property
    def end(self) -> int:
        return self._base + self._end

    @property
    def value_start(self) -> int:
        """Where the value token starts, its opening quote included."""
        return self._base + self._vstart


@dataclass(slots=True)
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


def parse_attrs(text: str, start: int, end: int, low: str | None = None) -> dict[str, Attr]:
    """Attributes of the tag text ``text[start:end]`` that can matter (see ``RELEVANT``); the
    first of duplicate names wins. Others are skipped to keep the scan small in memory.
    ``low`` is ``text`` ASCII-lowercased, when the caller has it (names are then free)."""
    attrs: dict[str, Attr] = {}
    for m in _ATTR.finditer(text if low is None else low, start, end):
        name = _RELEVANT.get(m.group(1) if low is not None else m.group(1).lower(), "")
        if not name or name in attrs:
            continue
        at, after = m.span()
        group = m.lastindex or 1  # the value's group (2-4) when there is a value
        if group == 1:
            vstart, quote = after, ""
        else:
            quote = _QUOTE_OF[group]
            vstart = m.start(group) - len(quote)  # a quoted value token starts at its quote
        offsets = (at - start, after - start, vstart - start)
        attrs[name] = Attr(name, text, start, offsets, quote)
    return attrs


class _Scanner:
    """Jumps from trigger to trigger instead of visiting every tag.

    A trigger is a comment opener, a closing ``</a>``, a tag that can carry a URL (or holds raw
    text), or a word that only matters inside a tag (``url(``, ``background``, ``display``...);
    for a word, the enclosing tag is found backwards and parsed exactly. Layout tags without
    triggers (most of a newsletter) are never looked at by Python code. Hiding containers are
    resolved to the range up to their matching end tag.
    """

    def __init__(self, text: str, hiding: Callable[[Tag], bool] | None) -> None:
        self.text = text
        # Patterns run on an ASCII-lowercased copy (same offsets): case-insensitive regexes
        # are several times slower in CPython's engine.
        low = text.lower()
        self.low = low if len(low) == len(text) else text.translate(_ASCII_LOWER)
        self.scan = Scan()
        self.hidden_until = -1
        self.budget = 4 * len(text) + 4096  # characters _element_end may scan in total
        self.anchors: list[Tag] = []
        self.is_hiding = hiding

    def run(self, start: int, end: int, in_comment: bool) -> None:
        text, pos, search = self.low, start, _TRIGGER.search
        words = Words(text, start, end)
        m = search(text, pos, end)
        at = NONE[0] if m is None else m.start()
        while pos < end:
            if at < pos:
                m = search(text, pos, end)
                at = NONE[0] if m is None else m.start()
            word = words.at(pos)
            if word[0] < at:
                pos = self._word(pos, word[0], word[1], end, in_comment)
            elif m is None:
                return
            elif m.lastindex == 2:
                name = m.group(2)  # matched on the lowercased copy
                pos = self._tag(at, m.end(), _NAMES.get(name, name), end, in_comment)
            elif m.lastindex == 3:
                close = text.find(">", at, end)
                pos = end if close < 0 else close + 1
                if self.anchors:
                    anchor = self.anchors.pop()
                    anchor.close_start, anchor.close_end = at, pos
            else:
                # "<!--" inside a comment is text: comments never nest
                pos = m.end() if in_comment else self._comment(at, end)

    def _word(self, pos: int, at: int, after: int, end: int, in_comment: bool) -> int:
        """A trigger word: parse the tag around it, if it is inside one."""
        text = self.low
        lt = text.rfind("<", pos, at)
        name = _NAME.match(text, lt + 1) if lt >= 0 else None
        if name is None:
            return after
        rest = _TAG_REST.match(text, name.end(), end)
        if rest is None:
            return end  # no ">" before the end: the tag runs to EOF, as in HTML5
        if rest.end() <= at:
            return after
        lowered = name.group(0)  # already lowercase: this runs on the lowered copy
        return self._tag(lt, name.end(), _NAMES.get(lowered, lowered), end, in_comment)

    def _comment(self, start: int, end: int) -> int:
        text = self.low
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
        text = self.low
        rest = _TAG_REST.match(text, name_end, end)
        if rest is None:
            return end  # no ">" before the end: the tag runs to EOF, as in HTML5
        tag_end = rest.end()
        if name in URL_TAGS or _WORTH_PARSING.search(text, name_end, tag_end):
            self._start_tag(name, start, name_end, tag_end, in_comment, end)
        if name in _RAW_TEXT:
            close = _RAW_END[name].search(text, tag_end, end)
            body_end = end if close is None else close.start()
            if name == "style":
                self.scan.styles.append((tag_end, body_end, in_comment))
            return body_end
        return tag_end

    def _start_tag(self, name: str, start: int, attrs_at: int, tag_end: int, in_comment: bool,
                   end: int) -> None:
        attrs = parse_attrs(self.text, attrs_at, tag_end - 1, self.low)
        tag = Tag(name, start, tag_end, attrs, in_comment, start < self.hidden_until)
        self.scan.tags.append(tag)
        if name == "a":
            self.anchors.append(tag)
        hiding = name in CONTAINERS and self.is_hiding is not None and self.is_hiding(tag)
        if hiding and start >= self.hidden_until:
            self.hidden_until = self._element_end(name, tag_end, end)

    def _element_end(self, name: str, pos: int, end: int) -> int:
        """Where the element opened just before ``pos`` closes (nesting counted). An element
        that never closes hides nothing: treating the rest of the mail as hidden would make
        every later image look like a pixel."""
        pattern = _CONTAINER_TAGS.get(name)
        if pattern is None or self.budget <= 0:
            return pos
        stop = min(end, pos + self.budget)  # many unclosed containers must not go quadratic
        self.budget -= stop - pos
        depth = 1
        for m in pattern.finditer(self.low, pos, stop):
            depth += -1 if m.group(1) else 1
            if depth == 0:
                return m.end()
        return pos


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
    if "<" in inner:  # most link texts are plain words
        inner = _INNER_TAG.sub(" ", inner)
    return " ".join(inner.split())
