"""DKIM after a rewrite: leave it to the next hop, re-sign, or remove what the rewrite broke.

A body change breaks every DKIM signature made before the relay (architecture.md section 5).
:func:`apply_dkim` is called by the relay with the message as received and as rewritten;
a message the relay did not change is returned untouched, so its signatures stay valid.

- ``next_hop``: do nothing (recommended: sign after the relay, e.g. OpenDKIM on the
  re-injection port).
- ``remove_broken``: drop only the signatures whose body hash (``bh=``) or signed header
  fields no longer match; signatures that still match are kept.
- ``resign``: as ``remove_broken``, then prepend a fresh signature made with the
  organisation's key.

No DNS lookups happen here: whether a signature still matches is decided by recomputing its
body hash and comparing the fields it signed, not by verifying it.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import dkim
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.crypto import HASH_ALGORITHMS, UnparsableKeyError, parse_pem_private_key
from dkim.util import InvalidTagValueList, parse_tag_value

from relay.config import DkimConfig
from rewriters.headers import HeaderField, line_ending, parse_fields

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "dkim-signature"
_WSP = re.compile(rb"\s+")


def resign(
    raw: bytes,
    selector: str,
    domain: str,
    private_key_pem: bytes,
    headers: Sequence[str] | None = None,
) -> bytes:
    """Prepend a fresh DKIM-Signature (relaxed/simple, rsa-sha256) to ``raw``.

    ``headers`` lists the fields to sign; ``None`` uses dkimpy's default set (From, To,
    Subject, Date, Message-ID, MIME fields, ... with From oversigned). Raises
    ``dkim.DKIMException`` for a malformed message or key.
    """
    eol = line_ending(raw)
    include = None if headers is None else [h.lower().encode() for h in headers]
    field: bytes = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        private_key_pem,
        include_headers=include,
        linesep=eol,
    )
    if eol == b"\n":
        field = field.replace(b"\r\n", b"\n")
    return field + raw


def remove_broken(original: bytes, rewritten: bytes) -> tuple[bytes, int]:
    """Cut the DKIM-Signature fields of ``rewritten`` that the rewrite broke.

    A signature is broken when its ``bh=`` no longer matches the rewritten body (under its own
    ``c=``, ``a=`` and ``l=``) or when a header field it signed differs from ``original``.
    Unparsable signatures are left alone (they never verified). Returns the new bytes and the
    number of signatures removed; ``rewritten`` itself when none was.
    """
    if rewritten == original:
        return rewritten, 0
    try:
        old_headers, _ = dkim.rfc822_parse(original)
        new_headers, new_body = dkim.rfc822_parse(rewritten)
    except dkim.MessageFormatError:
        return rewritten, 0  # dkimpy cannot parse it, so no verifier will pass it either
    broken = [
        f for f in parse_fields(rewritten)
        if f.name == SIGNATURE_FIELD and _is_broken(f, old_headers, new_headers, new_body)
    ]
    if not broken:
        return rewritten, 0
    pieces, pos = [], 0
    for f in broken:
        pieces.append(rewritten[pos : f.start])
        pos = f.end
    pieces.append(rewritten[pos:])
    return b"".join(pieces), len(broken)


def _is_broken(
    field: HeaderField,
    old_headers: list[list[bytes]],
    new_headers: list[list[bytes]],
    new_body: bytes,
) -> bool:
    try:
        tags = parse_tag_value(_WSP.sub(b" ", field.value.replace(b"\r\n", b"").strip()))
        policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
        hasher = HASH_ALGORITHMS[tags[b"a"]]
        expected = base64.b64decode(_WSP.sub(b"", tags[b"bh"]))
        signed = [h.strip().lower() for h in tags[b"h"].split(b":") if h.strip()]
    except (InvalidTagValueList, InvalidCanonicalizationPolicyError, KeyError, ValueError):
        return False
    body = policy.canonicalize_body(new_body)
    if b"l" in tags and tags[b"l"].isdigit():
        body = body[: int(tags[b"l"])]
    if hasher(body).digest() != expected:
        return True
    return _signed_fields(policy, old_headers, signed) != _signed_fields(
        policy, new_headers, signed
    )


def _signed_fields(
    policy: CanonicalizationPolicy, headers: list[list[bytes]], signed: list[bytes]
) -> list[tuple[bytes, bytes]]:
    chosen = dkim.select_headers([(h[0], h[1]) for h in headers], signed)
    return [(n, v) for n, v in policy.canonicalize_headers(chosen)]


def apply_dkim(original: bytes, rewritten: bytes, dkim_config: DkimConfig) -> bytes:
    """What goes upstream, per ``[dkim] mode``; unchanged messages are returned as they came."""
    if rewritten == original or dkim_config.mode == "next_hop":
        return rewritten
    out, removed = remove_broken(original, rewritten)
    if removed:
        log.info("dkim_signature_removed", extra={"count": removed, "mode": dkim_config.mode})
    if dkim_config.mode == "remove_broken":
        return out
    selector, domain, key_path = _signing_settings(dkim_config)
    return resign(out, selector, domain, _read_key(key_path, key_path.stat().st_mtime_ns))


def _signing_settings(dkim_config: DkimConfig) -> tuple[str, str, Path]:
    if not (dkim_config.selector and dkim_config.domain and dkim_config.private_key):
        raise ValueError("[dkim] mode = resign needs selector, domain and private_key")
    return dkim_config.selector, dkim_config.domain, dkim_config.private_key


@lru_cache(maxsize=4)
def _read_key(path: Path, mtime_ns: int) -> bytes:
    """The key file, read again only when it changes (key rotation without a restart)."""
    return path.read_bytes()


def check(dkim_config: DkimConfig) -> list[str]:
    """Problems ``config check`` should report for the ``[dkim]`` section (empty when fine)."""
    if dkim_config.mode != "resign":
        return []
    try:
        _, _, key_path = _signing_settings(dkim_config)
        parse_pem_private_key(key_path.read_bytes())
    except ValueError as exc:
        return [str(exc)]
    except OSError as exc:
        return [f"[dkim] private_key: cannot read {dkim_config.private_key}: {exc.strerror}"]
    except UnparsableKeyError as exc:
        return [f"[dkim] private_key: not an RSA private key in PEM form ({exc})"]
    return []
