"""Recipient address normalisation, done once, here, for every lookup and every write.

Two spellings of one mailbox must land on one ledger key, or a withdrawal recorded as
``Ann@Example.COM`` would not stop tracking for ``ann@example.com``. The domain is lowercased and
IDNA-encoded (A-labels); the local part is case-folded (RFC 5321 lets servers treat it as case
sensitive, but no real mailbox provider does, and over-matching a refusal is the safe side).
Non-ASCII (SMTPUTF8, RFC 6531) local parts are kept as UTF-8 after NFC normalisation.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import idna

_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+$")
_QUOTED = re.compile(r'^"(?:[^"\\\r\n]|\\.)*"$')
_LITERAL = re.compile(r"^\[(?:IPv6:[0-9A-Fa-f:.]+|[0-9.]+)\]$")
MAX_LOCAL = 64
MAX_ADDRESS = 254


class AddressError(ValueError):
    """The address cannot be a mailbox; ``str()`` says why, for the admin or the SMTP client."""


def _local(local: str) -> str:
    if not local:
        raise AddressError("empty local part")
    local = unicodedata.normalize("NFC", local)
    if len(local.encode("utf-8")) > MAX_LOCAL:
        raise AddressError(f"local part longer than {MAX_LOCAL} octets")
    if _QUOTED.match(local):
        return local.casefold()
    if not _ATEXT.match(local):
        raise AddressError(f"invalid character in local part {local!r}")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError(f"misplaced dot in local part {local!r}")
    if any(unicodedata.category(c).startswith("C") for c in local):
        raise AddressError("control character in local part")
    return local.casefold()


@functools.lru_cache(maxsize=1024)
def domain(value: str) -> str:
    """Lowercased A-label form of a domain; raise :class:`AddressError` if it is not one.

    Memoised on its own: recipients are mostly new, their domains mostly are not, and the
    IDNA check is the costly part of normalising an address.
    """
    value = value.strip().rstrip(".")
    if not value:
        raise AddressError("empty domain")
    if _LITERAL.match(value):
        return value.lower()
    try:
        encoded = idna.encode(value, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise AddressError(f"invalid domain {value!r}: {exc}") from exc
    return encoded.lower()


@functools.lru_cache(maxsize=4096)
def normalize(address: str) -> str:
    """``Local@Domain`` -> ``local@a-label-domain``; angle brackets and spaces are removed.

    Memoised: the RCPT path, the cache and the policy each normalise the same address, and
    IDNA encoding is the costly part; the function is pure.
    """
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text:
        raise AddressError("empty address")
    if any(c.isspace() for c in text) and not text.startswith('"'):
        raise AddressError("whitespace in address")
    local, sep, host = text.rpartition("@")
    if not sep:
        raise AddressError(f"missing @ in {text!r}")
    result = f"{_local(local)}@{domain(host)}"
    if len(result.encode("utf-8")) > MAX_ADDRESS:
        raise AddressError(f"address longer than {MAX_ADDRESS} octets")
    return result


def domain_of(address: str) -> str:
    """Domain part of an already normalised address."""
    return address.rpartition("@")[2]
