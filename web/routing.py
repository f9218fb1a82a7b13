"""Signed routing URLs: a kept tracker goes through ``<base_url>/t/<token>`` (issue 6).

The token carries, inside its signed payload, the original tracker URL, the recipient, the
purpose and the message reference, so ``/t/`` can only ever send a request to the URL that was in
that recipient's message, and can only ever look up that recipient's consent (no open redirect,
no consent probing with someone else's token). Format, all parts URL-safe base64 without
padding::

    r1.<payload>.<mac>
    payload = flag byte (0 plain, 1 raw deflate) + compact JSON
              [url, recipient, purpose ("o" | "c"), message_ref, issued_at unix | null]
    mac     = HMAC-SHA256(key, "consent-relay/route/v1." + payload)[:16]

The first key signs, every key verifies (rotate by prepending a new key; drop the old one when
no mail signed with it is worth keeping alive: routed links stop working with their key). The
payload is signed, not encrypted: it holds the recipient's own address and travels only in their
own mail, as the footer's stop-tracking link does. Tokens do not expire: a link in an old mail
keeps working, and consent is what is re-checked on every request.

Signing is pure (HMAC only: no clock, no I/O), so :meth:`RouteSigner.route_url_for` can be
handed to the rewriting engine as ``RewriteContext.route_url``.

Errors: :class:`BadRouteToken` (``reason``: ``malformed``, ``tampered``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from policy.decision import Decision
from relay.contracts import ContextFactory
from rewriters.decoders import split_url
from rewriters.knowledge import KNOWLEDGE
from rewriters.treatment import Purpose, RewriteContext
from store.addresses import AddressError, normalize

VERSION = "r1"
MAC_BYTES = 16
MAX_URL = 8192
MAX_TOKEN = 16384
MAX_UNWRAP = 3
_DOMAIN = b"consent-relay/route/v1."
_CODES = {Purpose.OPEN_TRACKING: "o", Purpose.CLICK_TRACKING: "c"}
_PURPOSES = {code: purpose for purpose, code in _CODES.items()}
_PLAIN, _DEFLATED = 0, 1

RouteUrl = Callable[[str, Purpose], str]


class BadRouteToken(ValueError):
    """A ``/t/`` token that must not be acted on."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class RouteClaims:
    """What a genuine token says: where the tracker was, for whom, for what, in which message."""

    url: str
    recipient: str
    purpose: Purpose
    message_ref: str
    issued_at: datetime | None = None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRouteToken("malformed", "not base64") from exc


def web_url(url: str) -> str:
    """The URL as it will be requested; ``ValueError`` unless it is a plain http(s) URL."""
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https") or "://" not in url[:8] or len(url) > MAX_URL:
        raise ValueError("only http(s) URLs up to 8 KiB can be routed")
    if any(ch in url for ch in "\r\n\x00"):
        raise ValueError("control characters in URL")
    return url


def _pack(body: list[object]) -> bytes:
    plain = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = squeezer.compress(plain) + squeezer.flush()
    if len(deflated) < len(plain):
        return bytes([_DEFLATED]) + deflated
    return bytes([_PLAIN]) + plain


def _unpack(data: bytes) -> list[object]:
    if not data or data[0] not in (_PLAIN, _DEFLATED):
        raise BadRouteToken("malformed", "unknown payload encoding")
    raw = data[1:]
    if data[0] == _DEFLATED:
        try:
            inflater = zlib.decompressobj(-15)
            raw = inflater.decompress(raw, MAX_TOKEN * 4)
        except zlib.error as exc:
            raise BadRouteToken("malformed", "payload does not inflate") from exc
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRouteToken("malformed", "payload is not JSON") from exc
    if not isinstance(body, list) or len(body) != 5:
        raise BadRouteToken("malformed", "payload is not a route")
    return body


def _claims(body: list[object]) -> RouteClaims:
    url, recipient, code, message_ref, issued = body
    purpose = _PURPOSES.get(str(code))
    if not (isinstance(url, str) and isinstance(recipient, str) and isinstance(message_ref, str)):
        raise BadRouteToken("malformed", "payload fields are invalid")
    if purpose is None or not (issued is None or isinstance(issued, int)):
        raise BadRouteToken("malformed", "payload fields are invalid")
    try:
        url = web_url(url)
        when = None if issued is None else datetime.fromtimestamp(issued, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise BadRouteToken("malformed", "payload fields are invalid") from exc
    return RouteClaims(url, recipient, purpose, message_ref, when)


class RouteSigner:
    """Signs routed tracker URLs and verifies them when ``/t/<token>`` is requested."""

    def __init__(self, keys: list[str], base_url: str) -> None:
        if not keys or any(not k for k in keys):
            raise ValueError("at least one non-empty signing key is needed")
        self._keys = [k.encode("utf-8") for k in keys]
        self.base_url = base_url.rstrip("/")

    def _mac(self, key: bytes, payload: str) -> bytes:
        digest = hmac.new(key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()
        return digest[:MAC_BYTES]

    def token(
        self,
        url: str,
        recipient: str,
        purpose: Purpose,
        message_ref: str,
        issued_at: datetime | None = None,
    ) -> str:
        """A token for one tracker URL; ``recipient`` must already be normalised."""
        when = None if issued_at is None else int(issued_at.timestamp())
        body: list[object] = [web_url(url), recipient, _CODES[Purpose(purpose)], message_ref, when]
        payload = _b64encode(_pack(body))
        return f"{VERSION}.{payload}.{_b64encode(self._mac(self._keys[0], payload))}"

    def url(self, token: str) -> str:
        return f"{self.base_url}/t/{token}"

    def route_url_for(
        self, recipient: str, message_ref: str, issued_at: datetime | None = None
    ) -> RouteUrl:
        """The ``RewriteContext.route_url`` for one recipient of one message (pure: HMAC only).

        Raises :class:`store.addresses.AddressError` for an invalid recipient. A URL that
        cannot be routed (not http(s), over 8 KiB) comes back unchanged rather than failing the
        rewrite: the recipient consented when the mail was sent, so it only loses the re-check.
        """
        address = normalize(recipient)

        def route_url(url: str, purpose: Purpose) -> str:
            try:
                return self.url(self.token(url, address, purpose, message_ref, issued_at))
            except ValueError:
                return url

        return route_url

    def verify(self, token: str) -> RouteClaims:
        """The claims of a genuine token, or :class:`BadRouteToken`."""
        if len(token) > MAX_TOKEN:
            raise BadRouteToken("malformed", "token too long")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION or not parts[1] or not parts[2]:
            raise BadRouteToken("malformed", "not a consent-relay route")
        _, payload, mac = parts
        given = _b64decode(mac)
        try:
            payload.encode("ascii")
        except UnicodeEncodeError as exc:
            raise BadRouteToken("malformed", "not base64") from exc
        matched = False
        for key in self._keys:  # every key, always: timing says nothing about which one
            matched |= hmac.compare_digest(self._mac(key, payload), given)
        if not matched:
            raise BadRouteToken("tampered", "signature does not match")
        return _claims(_unpack(_b64decode(payload)))


def routing_context(
    config_web_keys: list[str], base_url: str, recipient: str, message_ref: str
) -> RouteUrl:
    """``route_url`` for ``consent-relay rewrite``: what the relay would route for ``recipient``."""
    return RouteSigner(config_web_keys, base_url).route_url_for(recipient, message_ref)


def with_routing(factory: ContextFactory, signer: RouteSigner) -> ContextFactory:
    """Wrap a :class:`relay.contracts.ContextFactory` so routed treatments get ``route_url``.

    The message reference is the relay's trace id (one transaction per routed recipient); an
    address that cannot be normalised gets no ``route_url`` rather than failing the transaction.
    """

    def build(recipient: str, decision: Decision, trace_id: str) -> RewriteContext:
        context = factory(recipient, decision, trace_id)
        if not decision.treatment.route_through_relay:
            return context
        try:
            route = signer.route_url_for(recipient, trace_id)
        except AddressError:
            return context
        return dataclasses.replace(context, route_url=route)

    return build


def decode_destination(url: str) -> str | None:
    """The real destination of a click wrapper, decoded offline (nested wrappers too), without
    per-person parameters; ``None`` when no known decoder recovers it."""
    found = None
    current = url
    for _ in range(MAX_UNWRAP):
        parts = split_url(current)
        match = KNOWLEDGE.match(parts) if parts is not None else None
        target = match.destination() if match is not None else None
        if target is None:
            break
        found = current = target
    return _without_personal_params(found) if found else None


def _without_personal_params(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in KNOWLEDGE.per_person]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))
