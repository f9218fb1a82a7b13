"""Signed per-recipient links: the stop-tracking URL in every disclosure footer.

Token format (``v1``), all parts URL-safe base64 without padding, joined by dots::

    v1.<payload>.<mac>
    payload = compact JSON {"r": recipient, "p": [purposes], "c": controller,
                            "t": issued-at (unix seconds), "k": key id}
    mac     = HMAC-SHA256(key, "consent-relay/link/v1." + payload)

The recipient is normalised before signing, so two spellings give one subject. The key id is a
keyed digest of the key (it reveals nothing about it); the first key in the list signs, every
key verifies, so keys rotate by prepending a new one and dropping the oldest after
``max_age_days``. Nothing in a link is guessable without a key. The payload is signed, not
encrypted: it carries the recipient's own address, and the link only travels in their own mail.

Errors: :class:`BadToken` (``reason``) with subclasses :class:`MalformedToken`,
:class:`TamperedToken`, :class:`ExpiredToken` and :class:`UnknownKeyToken`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.decision import Decision
from relay.contracts import ContextFactory
from rewriters.treatment import Action, Purpose, RewriteContext
from store.addresses import AddressError, normalize

VERSION = "v1"
ALL_PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)  # open, then click
CLOCK_SKEW = timedelta(minutes=5)
_DOMAIN = b"consent-relay/link/v1."


class BadToken(ValueError):
    """A link that must not be acted on; ``reason`` is one of the subclasses' names."""

    reason = "bad"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason


class MalformedToken(BadToken):
    reason = "malformed"


class TamperedToken(BadToken):
    reason = "tampered"


class ExpiredToken(BadToken):
    reason = "expired"


class UnknownKeyToken(BadToken):
    reason = "unknown_key"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified token says: whose link it is, for which purposes and controller."""

    recipient: str
    purposes: tuple[str, ...]
    controller: str
    issued_at: datetime
    key_id: str


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("not base64") from exc


def key_id(key: str) -> str:
    """A short public name for a key: a keyed digest, useless for guessing the key."""
    return hmac.new(key.encode(), b"consent-relay/key-id", hashlib.sha256).hexdigest()[:12]


class LinkSigner:
    """Signs and verifies recipient links; also builds the relay's rewrite contexts."""

    def __init__(
        self, keys: list[str], base_url: str, max_age_days: int, *, controller: str = "default"
    ) -> None:
        if not keys or any(not k for k in keys):
            raise ValueError("at least one non-empty signing key is needed")
        self.keys = {key_id(k): k.encode() for k in keys}
        self.signing_id = key_id(keys[0])
        self.base_url = base_url.rstrip("/")
        self.max_age = timedelta(days=max_age_days)
        self.controller = controller

    def _mac(self, key: bytes, payload: str) -> bytes:
        return hmac.new(key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()

    def sign(
        self,
        recipient: str,
        purposes: Any,
        controller: str,
        issued_at: datetime | None = None,
    ) -> str:
        """A token for ``recipient``; raises AddressError or ValueError on bad input."""
        wanted = {str(p) for p in purposes}
        chosen = [p for p in ALL_PURPOSES if p in wanted] + sorted(wanted - set(ALL_PURPOSES))
        if not chosen or any(p not in ALL_PURPOSES for p in chosen):
            raise ValueError(f"purposes must be a non-empty subset of {list(ALL_PURPOSES)}")
        when = issued_at or datetime.now(UTC)
        body = {
            "r": normalize(recipient),
            "p": chosen,
            "c": controller,
            "t": int(when.timestamp()),
            "k": self.signing_id,
        }
        payload = b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        mac = self._mac(self.keys[self.signing_id], payload)
        return f"{VERSION}.{payload}.{b64encode(mac)}"

    def verify(self, token: str, now: datetime | None = None) -> LinkClaims:
        """The claims of a genuine, unexpired token, or a :class:`BadToken`."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION or not parts[1] or not parts[2]:
            raise MalformedToken("not a consent-relay link")
        _, payload, mac = parts
        body = _payload(payload)
        key = self.keys.get(str(body.get("k")))
        if key is None:
            raise UnknownKeyToken("signed with a key that is no longer in use")
        if not hmac.compare_digest(self._mac(key, payload), b64decode(mac)):
            raise TamperedToken("signature does not match")
        claims = _claims(body)
        now = now or datetime.now(UTC)
        if claims.issued_at > now + CLOCK_SKEW:
            raise TamperedToken("issued in the future")
        if now - claims.issued_at > self.max_age:
            raise ExpiredToken(f"older than {self.max_age.days} days")
        return claims

    def url(self, token: str, page: str = "") -> str:
        return f"{self.base_url}/p/{token}{'/' + page if page else ''}"

    def stop_tracking_url(self, recipient: str, controller: str | None = None) -> str:
        """Absolute URL of the recipient's choices page, covering every purpose."""
        return self.url(self.sign(recipient, ALL_PURPOSES, controller or self.controller))

    def request_url(self, recipient: str, controller: str | None = None) -> str:
        """Absolute URL of the consent-request landing page (organisations that ask first)."""
        token = self.sign(recipient, ALL_PURPOSES, controller or self.controller)
        return self.url(token, "request")


def _payload(payload: str) -> dict[str, Any]:
    try:
        body = json.loads(b64decode(payload))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedToken("payload is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedToken("payload is not an object")
    return body


def _claims(body: dict[str, Any]) -> LinkClaims:
    """Fields of a payload whose MAC already checked out (so only our own bugs fail here)."""
    try:
        purposes = tuple(str(p) for p in body["p"])
        issued = datetime.fromtimestamp(int(body["t"]), UTC)
        recipient = normalize(str(body["r"]))
        claims = LinkClaims(recipient, purposes, str(body["c"]), issued, str(body["k"]))
    except (KeyError, TypeError, ValueError, OverflowError, AddressError) as exc:
        raise MalformedToken("payload fields are invalid") from exc
    if not purposes or any(p not in ALL_PURPOSES for p in purposes):
        raise MalformedToken("unknown purpose")
    return claims


def consent_since(decision: Decision) -> datetime | None:
    """Earliest ``since`` among the granted purposes (the footer's "since" date)."""
    since = [s.since for s in decision.consent.purposes.values() if s.granted and s.since]
    return min(since) if since else None


def context_factory(signer: LinkSigner, controller: str | None = None) -> ContextFactory:
    """The relay's :class:`relay.contracts.ContextFactory`, with a personal stop-tracking link."""
    owner = controller or signer.controller

    def build(recipient: str, decision: Decision, trace_id: str) -> RewriteContext:
        url: str | None = None
        if decision.treatment.action is Action.DISCLOSE:  # only a footer carries the link
            try:
                url = signer.stop_tracking_url(recipient, owner)
            except (AddressError, ValueError):
                url = None  # the policy refuses such recipients; never fail a transaction
        return RewriteContext(
            recipient=recipient,
            stop_tracking_url=url,
            consent_since=consent_since(decision),
            controller=owner,
        )

    return build
