"""Rewrite one followed link: unwrap click wrappers, drop per-person parameters, route.

Links are only ever changed to something that still works: a wrapper is unwrapped only when its
destination decodes offline to a plain web URL, and per-person parameters are never removed
from unsubscribe, preference-centre or view-in-browser links (Marketo documents ``mkt_tok`` as
required there, and breaking opt-out is a legal risk).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from rewriters.decisions import Decider
from rewriters.decoders import query_value, split_url
from rewriters.detection import Detection, Detector
from rewriters.percent import unquote_plus
from rewriters.treatment import Confidence, Purpose

MAX_UNWRAP = 3
SECURITY_HOSTS = ("safelinks.protection.outlook.com", "urldefense.proofpoint.com",
                  "urldefense.com")
DROP_LINK = "\x00drop-link"
# Enum members as plain globals: ``Purpose.CLICK_TRACKING`` costs ~0.15 us per lookup on
# Python 3.11, and the link path asks for them several times per link.
CLICK = Purpose.CLICK_TRACKING
VENDOR_RULE, IDENTITY_HIT = Confidence.VENDOR_RULE, Confidence.IDENTITY_HIT
PARAM_VENDORS = (("_hs", "HubSpot"), ("__hs", "HubSpot"), ("hsctatracking", "HubSpot"),
                 ("mc_", "Mailchimp"), ("mkt_tok", "Marketo"), ("elq", "Eloqua"),
                 ("vero_", "Vero"), ("_kx", "Klaviyo"), ("ml_", "MailerLite"))


def protected(url: str, text: str, words: tuple[str, ...]) -> bool:
    """Unsubscribe / preferences / view-in-browser, judged by the URL and the link text."""
    low = (unquote_plus(url[:4096]) + " " + text[:500]).lower()
    for word in words:  # noqa: SIM110 (a loop of C substring searches; no generator)
        if word in low:
            return True
    return False


@lru_cache(maxsize=256)
def _param_vendor(name: str) -> str:
    low = name.lower()
    return next((vendor for prefix, vendor in PARAM_VENDORS if low.startswith(prefix)), "unknown")


def strip_params(url: str, names: frozenset[str],
                 identity_hit: Callable[[str], bool] | None) -> tuple[str, list[str]]:
    """Remove per-person parameters (by name, or whose value is the recipient)."""
    base, hash_, fragment = url.partition("#")
    path, q, query = base.partition("?")
    if not q or not query:
        return url, []
    kept: list[str] = []
    removed: list[str] = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        key = (unquote_plus(name) if "%" in name or "+" in name else name).lower()
        # "=" + value: the bare local part counts only as a whole parameter value
        if key in names or (value and identity_hit is not None and identity_hit("=" + value)):
            removed.append(key)
        else:
            kept.append(pair)
    if not removed:
        return url, []
    new = path + ("?" + "&".join(kept) if kept else "")
    return new + hash_ + fragment, removed


def security_inner(url: str) -> str | None:
    """The URL a Safe Links or Proofpoint (v2, v3) wrapper protects, for analysis only."""
    parts = split_url(url)
    if parts is None:
        return None
    if parts.host.endswith("safelinks.protection.outlook.com"):
        return query_value(parts.query, "url")
    if parts.host == "urldefense.proofpoint.com" and parts.path.startswith("/v2/url"):
        encoded = query_value(parts.query, "u") or ""
        return encoded.replace("-3A", ":").replace("_", "/").replace("-", "%") or None
    if parts.host == "urldefense.com" and parts.path.startswith("/v3/__"):
        inner = url.split("/v3/__", 1)[1]
        return inner.split("__;", 1)[0] or None
    return None


class LinkRewriter:
    """Applies the treatment to links for one message; findings go to the decider."""

    def __init__(self, detector: Detector, decider: Decider) -> None:
        self.detector = detector
        self.decider = decider
        self.knowledge = detector.knowledge
        self.param_names = self._removed_params()
        self.strip_identity = decider.strips("unknown", Purpose.CLICK_TRACKING)
        self._protected: dict[str, bool] = {}

    def _removed_params(self) -> frozenset[str]:
        """Which parameters this treatment removes: each belongs to a vendor
        (``allowed_vendors``); most treatments answer for all vendors at once."""
        click = Purpose.CLICK_TRACKING
        every = self.decider.strips_every_vendor(click)
        if every is not None:
            return self.knowledge.per_person if every else frozenset()
        return frozenset(n for n in self.knowledge.per_person
                         if self.decider.strips(_param_vendor(n), click))

    def rewrite(self, url: str, text: Callable[[], str], where: str, can_drop: bool = True
                ) -> str | None:
        """New URL, :data:`DROP_LINK` to replace the link by its text, or ``None`` to keep.

        ``text`` yields the link's visible text; it is only computed when a parameter might be
        removed (to recognise unsubscribe links), which is rare.

        ``can_drop`` is False where a link has no text of its own (plain text, VML buttons):
        an opaque wrapper there is kept and reported even when the policy prefers text.
        """
        current = url
        if ("safelinks" in url or "urldefense" in url) and self._security_wrapper(url, where):
            return None
        for _ in range(MAX_UNWRAP):
            det = self.detector.link(current)
            if det is None or det.match is None:
                break
            current, done = self._wrapper(det, current, text, where, can_drop)
            if done:
                return None if current == url else current
        final = self._params(current, text, where)
        return None if final == url else final

    def _security_wrapper(self, url: str, where: str) -> bool:
        """Safe Links / Proofpoint protect the recipient and stay as they are (trackers.md
        section 1), but a tracker nested inside one is still worth reporting."""
        parts = split_url(url)
        if parts is None or not parts.host.endswith(SECURITY_HOSTS):
            return False
        inner = security_inner(url)
        det = self.detector.link(inner) if inner else None
        if det is not None and det.match is not None:
            self.decider.record(det, where, "kept", detail="inside a security link wrapper")
        return True

    def _wrapper(self, det: Detection, url: str, text: Callable[[], str], where: str,
                 can_drop: bool) -> tuple[str, bool]:
        """(next URL, whether rewriting stops here) after handling a vendor wrapper."""
        if not self.decider.strips(det.vendor, CLICK):
            routed = self.decider.route(url, CLICK)
            self.decider.record(det, where, "routed" if routed else "kept")
            return (routed or url), True
        destination = self.detector.destination(det)
        if protected(url, text(), self.knowledge.protected_words) or (
                destination is not None and self._protected_destination(destination)):
            # unsubscribe / preferences / view in browser: opt-out must keep working
            self.decider.record(det, where, "kept", detail="protected link left wrapped")
            return url, True
        if destination is not None:
            self.decider.record(det, where, "unwrapped", detail=destination[:200])
            return destination, False
        if self.decider.treatment.opaque_links == "text" and can_drop:
            self.decider.record(det, where, "replaced_with_text", detail="opaque")
            return DROP_LINK, True
        self.decider.record(det, where, "kept", detail="opaque wrapper")
        return url, True

    def _protected_destination(self, destination: str) -> bool:
        """``protected(destination, "")``, memoised for the message: wrappers of one mailing
        often lead to the same few pages."""
        known = self._protected.get(destination)
        if known is None:
            known = protected(destination, "", self.knowledge.protected_words)
            if len(self._protected) < 10_000:
                self._protected[destination] = known
        return known

    def _params(self, url: str, text: Callable[[], str], where: str) -> str:
        if "?" not in url or not (self.param_names or self.strip_identity):
            return url
        identity = self.detector.identity
        query = url.partition("?")[2].partition("#")[0]
        carries_identity = self.strip_identity and identity.found_in(query)
        if not carries_identity and not self._named_param_in(query):
            return url
        if protected(url, text(), self.knowledge.protected_words):
            return url
        new, removed = strip_params(url, self.param_names,
                                    identity.found_in if carries_identity else None)
        host = _host(url)
        for name in removed:
            confidence = VENDOR_RULE if name in self.knowledge.per_person else IDENTITY_HIT
            self.decider.add(_param_vendor(name), "link_param", where, host, "param_removed",
                             confidence, CLICK, detail=name)
        if carries_identity and identity.found_in(new):
            self.decider.add("unknown", "link_param", where, host, "kept",
                             Confidence.IDENTITY_HIT, Purpose.CLICK_TRACKING,
                             detail="recipient identity left in the URL")
        return new

    def _named_param_in(self, query: str) -> bool:
        names = self.param_names  # one lower() for the query: it never makes "&" or "="
        for pair in query.lower().split("&"):  # noqa: SIM110 (no generator: runs per link)
            if pair.partition("=")[0] in names:
                return True
        return False


def _host(url: str) -> str:
    rest = url.split("//", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2].lower()[:253]
