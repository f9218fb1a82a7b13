"""CSRF tokens for the consent forms: an HMAC bound to the link, the form and its nonce.

Choice: **HMAC of (link token, form id, language, nonce, time)**, not a double-submit cookie,
so the pages set no cookies at all. The page embeds ``nonce`` and ``csrf`` as hidden fields;
a POST is accepted only when ``csrf`` was made by one of our signing keys for exactly this link,
this form and this nonce, less than ``max_age`` ago. A form shown for recipient A never
validates on B's link. Replays are stopped separately: the first POST of a (nonce, choice)
claims it in :class:`store.web_models.FormNonces`; later ones record nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from web.links import b64encode

_DOMAIN = b"consent-relay/form/v1"


class FormError(ValueError):
    """The form did not come from our page, was altered, or is too old."""


@dataclass(frozen=True)
class FormFields:
    nonce: str
    csrf: str


class FormGuard:
    """Issues and checks the hidden fields of the consent forms."""

    def __init__(self, keys: list[str], max_age: timedelta) -> None:
        self.keys = [hashlib.sha256(_DOMAIN + k.encode()).digest() for k in keys]
        self.max_age = max_age

    def _mac(self, key: bytes, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return b64encode(hmac.new(key, _DOMAIN + message, hashlib.sha256).digest())

    def issue(self, token: str, form_id: str, lang: str, now: datetime | None = None) -> FormFields:
        nonce = secrets.token_urlsafe(18)
        stamp = str(int((now or datetime.now(UTC)).timestamp()))
        mac = self._mac(self.keys[0], token, form_id, lang, nonce, stamp)
        return FormFields(nonce, f"{stamp}.{mac}")

    def check(
        self,
        token: str,
        form_id: str,
        lang: str,
        fields: FormFields,
        now: datetime | None = None,
    ) -> None:
        """Return quietly for a genuine, fresh form; raise :class:`FormError` otherwise."""
        stamp, _, mac = fields.csrf.partition(".")
        if not stamp.isdigit() or not mac or not fields.nonce:
            raise FormError("missing or malformed CSRF token")
        try:
            issued = datetime.fromtimestamp(int(stamp), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise FormError("malformed CSRF token") from exc
        age = (now or datetime.now(UTC)) - issued
        if age > self.max_age or age < -timedelta(minutes=5):
            raise FormError("form expired")
        for key in self.keys:
            expected = self._mac(key, token, form_id, lang, fields.nonce, stamp)
            if hmac.compare_digest(expected, mac):
                return
        raise FormError("CSRF token does not match this link and form")

    @staticmethod
    def digest(token: str, fields: FormFields, choice: str) -> str:
        """The replay key of one submission (what :class:`FormNonces` stores)."""
        text = "\x1f".join((token, fields.nonce, choice)).encode("utf-8")
        return hashlib.sha256(text).hexdigest()
