"""Find the recipient's own identity inside a URL.

The relay knows who the message is for, so a URL that carries the address (in any of the forms
senders use to disguise it) is strong evidence of per-person tracking even on a host nobody has
listed. Needles are computed once per message; matching is a handful of substring searches.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from rewriters.decoders import mailgun_payload
from rewriters.percent import unquote

MIN_LOCAL_PART = 6


@dataclass(frozen=True)
class Identity:
    """Lowercased needles for one recipient, plus the local part used only as a whole value."""

    needles: tuple[str, ...]
    local_part: str | None

    def _any_needle(self, text: str) -> bool:
        # A plain loop of C-level substring searches beats one big alternation regex and a
        # generator expression here (this runs for every URL of every message).
        for needle in self.needles:  # noqa: SIM110
            if needle in text:
                return True
        return False

    def found_in(self, url: str) -> bool:
        """True when the address, an encoding of it or a hash of it appears in ``url``."""
        if not self.needles:
            return False
        lowered = url.lower()
        if self._any_needle(lowered):
            return True
        if "%" in lowered and self._any_needle(unquote(lowered)):
            return True
        return self._local_part_in(lowered) or self._in_mailgun_token(url)

    def _local_part_in(self, lowered: str) -> bool:
        """The bare local part counts only as a whole query-parameter value (``?u=billing``):
        role mailbox names (``billing``, ``support``) are common words in URL paths."""
        if self.local_part is None or self.local_part not in lowered:
            return False  # a pair whose value is the local part contains it: one C search
        if "://" in lowered:  # a whole URL: only its query (callers may pass just the query)
            query_at = lowered.find("?")
            if query_at < 0:
                return False
            lowered = lowered[query_at + 1 :]
        lowered = lowered.partition("#")[0]
        for pair in lowered.replace(";", "&").split("&"):
            if pair.partition("=")[2] == self.local_part:
                return True
        return False

    def _in_mailgun_token(self, url: str) -> bool:
        marker = url.find("/eJ")
        if marker < 0:
            return False
        token = url[marker + 1 :].split("/", 1)[0].split("?", 1)[0]
        payload = mailgun_payload(token[:8192])
        return payload is not None and any(n in unquote(payload).lower() for n in self.needles)


NOBODY = Identity((), None)


def _b64_forms(text: str) -> list[str]:
    raw = text.encode("utf-8")
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return [form.rstrip("=").lower() for form in (std, url)]


def identity_for(recipient: str | None) -> Identity:
    """Every form of ``recipient`` worth searching for; empty when there is no recipient."""
    if not recipient or "@" not in recipient:
        return NOBODY
    address = recipient.strip().strip("<>")
    lowered = address.lower()
    needles = {lowered, quote(lowered, safe="").lower(), lowered.replace("@", "%40")}
    for form in {address, lowered}:  # a set: most addresses arrive lowercase
        needles.update(_b64_forms(form))
    for digest in (hashlib.md5, hashlib.sha1, hashlib.sha256):  # not hashlib.new: no name lookup
        needles.add(digest(lowered.encode("utf-8")).hexdigest())
    local = lowered.split("@", 1)[0]
    usable_local = local if len(local) >= MIN_LOCAL_PART else None
    return Identity(tuple(sorted(n for n in needles if len(n) >= 6)), usable_local)
