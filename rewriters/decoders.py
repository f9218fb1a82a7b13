"""Recover the real destination of a click-tracking link without fetching anything.

Each decoder is a small pure function registered under the name ``trackers.toml`` uses in a
rule's ``decoder`` key, so adding a vendor whose wrapper follows a known shape needs no code.
A decoder returns ``None`` whenever the token does not decode cleanly: a wrong guess must keep
the original link (it still works) rather than produce a broken or dangerous one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote

from rewriters.percent import unquote, unquote_plus

MAX_URL = 8192
MAX_INFLATE = 64 * 1024
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
_UNSAFE = re.compile("[\r\n\t\x00 <>\"]")


class UrlParts(NamedTuple):
    """A URL split once; ``path`` and ``query`` stay percent-encoded as in the source."""

    url: str
    scheme: str
    host: str
    path: str
    query: str


_URL = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]{0,31}:)?//([^/?#\\]*+)([^?#]*+)(?:\?([^#]*+))?")


def split_url(url: str) -> UrlParts | None:
    """Split an absolute or protocol-relative URL; ``None`` when it has no usable host.

    One anchored regex instead of ``urlsplit`` (which validates and allocates more). Not
    memoised across messages: tracked links carry a token per recipient, so such a cache would
    only flatter a benchmark that sends one message over and over.
    """
    if len(url) > MAX_URL * 16:
        return None
    m = _URL.match(url.strip())
    if m is None:
        return None
    scheme, netloc, path, query = m.groups()
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host = netloc[1 : netloc.find("]")] if "]" in netloc else ""
    else:
        host = netloc.partition(":")[0]
    host = host.rstrip(".").lower()
    if not host:
        return None
    scheme = scheme[:-1].lower() if scheme else ""
    return UrlParts(url, scheme, host, path, query or "")


_C0_AND_SPACE = "".join(chr(c) for c in range(33))
_TAB_NEWLINE = {9: None, 10: None, 13: None}
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]{0,31}):")
_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


# What normalise_url returns unchanged (most URLs of a mailing): lowercase http(s), nothing to
# lowercase or decode in the host, no escape/backslash/empty or dot segment in the path, no tab
# or newline, no control at the end.
_NORMAL = re.compile(
    r"https?://[^/?#\\%A-Z\x00-\x20\x7f-\U0010ffff]++"
    r"(?:/(?!\.\.?(?:[/?#]|\Z))[^/?#\\%\x00-\x20]++)*+/?"
    r"(?:[?#][^\t\n\r]*+)?(?<![\x00-\x20])\Z"
)


def _unreserved(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def normalise_url(url: str) -> str:
    """The URL as a browser would fetch it, for matching only (never written back).

    WHATWG-like and linear: ASCII tab/newline/CR removed, leading/trailing C0 controls and
    spaces stripped; for http(s) and protocol-relative URLs backslashes count as slashes,
    scheme and host are lowercased, percent-encoded unreserved characters (ALPHA DIGIT
    ``-._~``) are decoded, repeated slashes in the path collapse and dot segments resolve.
    Anything else (and anything longer than :func:`split_url` accepts) comes back as it was.
    """
    if len(url) > MAX_URL * 16 or _NORMAL.match(url):
        return url
    url = url.strip(_C0_AND_SPACE).translate(_TAB_NEWLINE)
    m = _SCHEME.match(url)
    if m is not None:
        scheme = m.group(1).lower()
        if scheme not in ("http", "https"):
            return url
        rest = url[m.end() :]
        prefix = scheme + "://"
    elif url.startswith(("//", "\\\\", "/\\", "\\/")):
        rest, prefix = url, "//"
    else:
        return url
    cut = len(rest)
    for stop in "?#":
        at = rest.find(stop)
        if 0 <= at < cut:
            cut = at
    head, tail = rest[:cut].replace("\\", "/").lstrip("/"), rest[cut:]
    authority, slash, path = head.partition("/")
    authority = _UNRESERVED_ESCAPE.sub(_unreserved, authority.lower())
    return prefix + authority + _clean_path(slash + path) + tail


def _clean_path(path: str) -> str:
    """Decode unreserved escapes, drop empty segments, resolve ``.`` and ``..``."""
    if not path:
        return path
    segments = _UNRESERVED_ESCAPE.sub(_unreserved, path).split("/")[1:]
    out: list[str] = []
    for segment in segments[:-1]:
        if segment == "..":
            if out:
                out.pop()
        elif segment not in ("", "."):
            out.append(segment)
    last = segments[-1]
    if last == "..":
        if out:
            out.pop()
        last = ""
    elif last == ".":
        last = ""
    return "/" + "".join(s + "/" for s in out) + last


def raw_query_value(query: str, name: str) -> str | None:
    """First value of parameter ``name`` as written (not decoded); ``""`` for a bare ``name``."""
    if name not in query:
        return None
    query = query[:MAX_URL]
    if query.startswith(name + "=") and "=" not in name:  # the first pair: no split needed
        return query[len(name) + 1 :].partition("&")[0]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name or (("%" in key or "+" in key) and unquote_plus(key) == name):
            return value
    return None


def query_value(query: str, name: str) -> str | None:
    """First value of parameter ``name`` (percent-decoded); ``""`` for a bare ``name``."""
    raw = raw_query_value(query, name)
    return None if raw is None else unquote_plus(raw)


def safe_destination(url: str | None) -> str | None:
    """Accept only plain web URLs with a host: never hand back ``javascript:`` or junk."""
    if url is None or len(url) > MAX_URL:
        return None
    url = url.strip()
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https"):
        return None
    if _UNSAFE.search(url):
        return None
    if not url.isascii():  # keep the link valid in 7bit and legacy-charset parts
        url = quote(url, safe=_URL_SAFE)
    return url


def _b64(token: str) -> bytes | None:
    token = token.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _segments(parts: UrlParts) -> list[str]:
    return parts.path.split("/")[1:]


def query_param(parts: UrlParts, arg: str) -> str | None:
    """Destination carried as a plain query parameter (Mailtrack ``url=``, Yesware ``ytl=``)."""
    return safe_destination(query_value(parts.query, arg))


def path_segment_after(parts: UrlParts, arg: str) -> str | None:
    """Destination percent-encoded in the segment after a marker (SES ``/L0/``, ``/CL0/``)."""
    segments = _segments(parts)
    for i, segment in enumerate(segments[:-1]):
        if segment == arg:
            return safe_destination(unquote(segments[i + 1]))
    return None


def postmark(parts: UrlParts, arg: str) -> str | None:
    """``click.pstmrk.it/3s/<host%2Fpath>/...``: segment 2 percent-decoded, https assumed."""
    segments = _segments(parts)
    if len(segments) < 2:
        return None
    target = unquote(segments[1])
    if "://" not in target:
        target = "https://" + target
    return safe_destination(target)


def mandrill_json(parts: UrlParts, arg: str) -> str | None:
    """``p`` is base64url JSON whose ``p`` field is itself JSON holding ``url``."""
    raw = _b64(query_value(parts.query, "p") or "")
    try:
        outer = json.loads(raw or b"null")
        inner = outer.get("p") if isinstance(outer, dict) else None
        data = json.loads(inner) if isinstance(inner, str) else inner
        url = data.get("url") if isinstance(data, dict) else None
    except ValueError:
        return None
    return safe_destination(url if isinstance(url, str) else None)


def mailgun_payload(token: str) -> str | None:
    """Inflate a Mailgun ``eJ...`` token into its query string (``l=``, ``r=``, ...)."""
    raw = _b64(token)
    if raw is None or len(raw) < 3:
        return None
    try:
        inflater = zlib.decompressobj(-15)
        data = inflater.decompress(raw[2:], MAX_INFLATE)
    except zlib.error:
        return None
    return data.decode("utf-8", "replace")


def mailgun_zlib(parts: UrlParts, arg: str) -> str | None:
    """``/c/eJ<token>``: base64url of deflated query string whose ``l`` is the destination."""
    segments = _segments(parts)
    token = next((s for s in segments if s.startswith("eJ")), None)
    payload = mailgun_payload(token) if token else None
    return query_param(UrlParts("", "", "", "", payload), "l") if payload else None


def base64_param(parts: UrlParts, arg: str) -> str | None:
    """ActiveCampaign ``redirectUrl``: base64 of a percent-encoded destination."""
    raw = _b64(query_value(parts.query, arg) or "")
    if not raw:
        return None
    return safe_destination(unquote(raw.decode("utf-8", "replace")))


def streak_last_segment(parts: UrlParts, arg: str) -> str | None:
    """``streaklinks.com/<tok>/<percent-encoded destination>``."""
    segments = [s for s in _segments(parts) if s]
    return safe_destination(unquote(segments[-1])) if len(segments) >= 2 else None


def yesware_path(parts: UrlParts, arg: str) -> str | None:
    """``/tt/<40hex>/<32hex>/<32hex>/<destination without scheme>``; https is assumed."""
    segments = _segments(parts)
    if len(segments) < 5:
        return None
    rest = unquote("/".join(segments[4:]))
    if parts.query:
        rest += "?" + parts.query
    return safe_destination(rest if "://" in rest else "https://" + rest)


Decoder = Callable[[UrlParts, str], "str | None"]

DECODERS: dict[str, Decoder] = {
    "query_param": query_param,
    "path_segment_after": path_segment_after,
    "postmark": postmark,
    "mandrill_json": mandrill_json,
    "mailgun_zlib": mailgun_zlib,
    "base64_param": base64_param,
    "streak_last_segment": streak_last_segment,
    "yesware_path": yesware_path,
}


# Decoders that read nothing but one query parameter (``None``: the rule's ``arg``), so what
# they return depends on that parameter's raw value alone.
ONE_PARAM: dict[str, str | None] = {"query_param": None, "base64_param": None,
                                    "mandrill_json": "p"}


def decode(name: str, parts: UrlParts, arg: str) -> str | None:
    """Run the named decoder; any failure inside it means "not recoverable"."""
    decoder = DECODERS.get(name)
    if decoder is None:
        return None
    try:
        return decoder(parts, arg)
    except (ValueError, TypeError, AttributeError, RecursionError, UnicodeError):
        return None
