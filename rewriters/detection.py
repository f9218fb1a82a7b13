"""Decide whether one URL, in one context, is a tracker, and how sure we are.

Three tiers, strongest first (trackers.md section 6): a vendor signature from
``trackers.toml``, the recipient's identity inside the URL, then the generic pixel heuristics
with their exemptions. Link and resource contexts differ: a known click wrapper in an ``<a>``
is tracking; an unknown ``<a>`` is only tracking if it carries the recipient's identity.
"""

from __future__ import annotations

from typing import NamedTuple

from rewriters.decoders import ONE_PARAM, UrlParts, normalise_url, raw_query_value, split_url
from rewriters.identity import Identity
from rewriters.knowledge import Knowledge, Match, Vendor
from rewriters.pixels import ImageStats, high_entropy, spacer, tracking_path
from rewriters.treatment import Confidence, Purpose

UNKNOWN = "unknown"
# Enum members as plain globals (an enum member lookup costs ~0.15 us on Python 3.11)
_VENDOR_RULE, _OPEN, _CLICK = Confidence.VENDOR_RULE, Purpose.OPEN_TRACKING, Purpose.CLICK_TRACKING
_EXEMPT_SCHEMES = ("cid:", "data:", "blob:", "mailto:", "tel:", "#", "sms:", "about:")


class Detection(NamedTuple):
    """A tracker hit: who, what, how sure; ``match`` is set for vendor rules."""

    vendor: str
    kind: str
    host: str
    confidence: Confidence
    purpose: Purpose
    match: Match | None = None

    def destination(self) -> str | None:
        return self.match.destination() if self.match is not None else None


def is_remote(url: str) -> bool:
    if url.startswith(("https://", "http://")):  # nearly every URL: skip the copies below
        return True
    low = url.lstrip()[:8].lower()
    return not low.startswith(_EXEMPT_SCHEMES)


def unproxy(url: str) -> str:
    """The original URL behind a webmail image proxy in quoted mail (Gmail puts it after ``#``)."""
    if "googleusercontent.com/" in url[:80] and "#http" in url:
        return url[url.index("#http") + 1 :]
    return url


class Detector:
    """Per-message classifier: knowledge plus the recipient and the message's image stats."""

    def __init__(self, knowledge: Knowledge, identity: Identity, stats: ImageStats) -> None:
        self.knowledge = knowledge
        self.identity = identity
        self.stats = stats
        self._links: dict[str, Detection | None] = {}
        self._vendors: dict[str, list[Vendor]] = {}  # by host: links repeat their host
        self._destinations: dict[tuple[str, str, str | None], str | None] = {}

    def _match(self, parts: UrlParts) -> Match | None:
        vendors = self._vendors.get(parts.host)
        if vendors is None:
            vendors = self.knowledge.host_vendors(parts.host)
            if len(self._vendors) < 10_000:
                self._vendors[parts.host] = vendors
        return self.knowledge.match(parts, vendors)

    def _parts(self, url: str) -> UrlParts | None:
        if not url or not is_remote(url):
            return None
        parts = split_url(url)
        if parts is None or parts.scheme not in ("http", "https", ""):
            return None
        return parts

    def _lookup(self, url: str) -> tuple[UrlParts, Match | None] | None:
        """Split and match ``url``; when it matches no vendor as written, its browser-normalised
        spelling (backslashes, tabs/newlines, dot segments, ``%74rack``, ``//``) gets a second
        chance. The URL text itself is never changed here."""
        parts = self._parts(url)
        match = self._match(parts) if parts is not None else None
        if match is None:
            normal = normalise_url(url)
            normal_parts = self._parts(normal) if normal != url else None
            if normal_parts is not None:
                normal_match = self._match(normal_parts)
                if normal_match is not None or parts is None:
                    return normal_parts, normal_match
        return (parts, match) if parts is not None else None

    def resource(self, url: str, kind: str, invisible: bool, sized: bool = False
                 ) -> Detection | None:
        """A fetched resource (image, CSS, frame): ``kind`` is what it is if it tracks.

        ``sized`` says the element declares a real content size: the URL-shape heuristic then
        stays quiet (vendor rules and identity hits still apply)."""
        url = unproxy(url)
        found = self._lookup(url)
        if found is None:
            return None
        parts, match = found
        if match is not None:
            return Detection(match.vendor, kind, parts.host, _VENDOR_RULE, _OPEN, match)
        if self.identity.found_in(url):
            return Detection(UNKNOWN, kind, parts.host, Confidence.IDENTITY_HIT,
                             Purpose.OPEN_TRACKING)
        if self._exempt(url, parts):
            return None
        rest = parts.path + "?" + parts.query
        looks = (not sized and tracking_path(rest, self.knowledge.tracking_tokens)
                 and high_entropy(rest))
        if invisible or looks:
            return Detection(UNKNOWN, kind, parts.host, Confidence.HEURISTIC,
                             Purpose.OPEN_TRACKING)
        return None

    def _exempt(self, url: str, parts: UrlParts) -> bool:
        if self.stats.counts.get(url, 0) >= 5:
            return True
        if self.stats.host_serves_real_images(parts.host, url):
            return True
        return not parts.query and spacer(parts.path, self.knowledge.spacer_names)

    def destination(self, det: Detection) -> str | None:
        """``det.destination()``, memoised per message when the decoder reads one query
        parameter: a mailing's wrappers differ in tracking ids more than in destinations."""
        match = det.match
        rule = match.rule if match is not None else None
        if match is None or rule is None or rule.decoder not in ONE_PARAM:
            return det.destination()
        param = ONE_PARAM[rule.decoder] or rule.arg
        key = (rule.decoder, rule.arg, raw_query_value(match.parts.query, param))
        if key in self._destinations:
            return self._destinations[key]
        found = det.destination()
        if len(self._destinations) < 10_000:
            self._destinations[key] = found
        return found

    def link(self, url: str) -> Detection | None:
        """A followed link: a vendor click wrapper, or a URL carrying the recipient (memoised:
        newsletters repeat links, and unwrapping looks at the same URL more than once)."""
        if url in self._links:
            return self._links[url]
        found = self._link(url)
        if len(self._links) < 10_000:
            self._links[url] = found
        return found

    def _link(self, url: str) -> Detection | None:
        found = self._lookup(url)
        if found is None:
            return None
        parts, match = found
        if match is not None:
            return Detection(match.vendor, "click_wrapper", parts.host, _VENDOR_RULE, _CLICK,
                             match)
        if self.identity.found_in(url):
            return Detection(UNKNOWN, "link_param", parts.host, Confidence.IDENTITY_HIT,
                             Purpose.CLICK_TRACKING)
        return None
