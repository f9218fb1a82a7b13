import base64
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest

from relay.config import DkimConfig
from relay.dkim import apply_dkim, check, remove_broken, resign
from rewriters.headers import get_values

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

SELECTOR = "relay"
DOMAIN = "example.com"
MESSAGE = (
    b"From: Sales <sales@example.com>\r\n"
    b"To: lead@example.org\r\n"
    b"Subject: Your quote\r\n"
    b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <quote-1@example.com>\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b'<p>Hello</p><img src="https://t.example.net/o.gif?u=1" width="1" height="1">\r\n'
)
REWRITTEN_BODY = b"<p>Hello</p>\r\n"

DnsFunc = Callable[..., bytes]


def _rewrite(raw: bytes) -> bytes:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    return head + sep + REWRITTEN_BODY


def _key_pair(tmp: Path) -> tuple[bytes, bytes]:
    key = tmp / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    return key.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, bytes]]:
    """Two key pairs: the sender's own signer and the organisation key the relay re-signs with."""
    tmp = tmp_path_factory.mktemp("dkim")
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    return {"sender": _key_pair(tmp / "a"), "org": _key_pair(tmp / "b")}


@pytest.fixture(scope="module")
def dnsfunc(keys: dict[str, tuple[bytes, bytes]]) -> DnsFunc:
    records = {
        f"sender._domainkey.{DOMAIN}.".encode(): keys["sender"][1],
        f"{SELECTOR}._domainkey.{DOMAIN}.".encode(): keys["org"][1],
    }

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name, b"")

    return lookup


@pytest.fixture
def signed(keys: dict[str, tuple[bytes, bytes]]) -> bytes:
    """MESSAGE as the sender's MTA signed it before the relay."""
    return resign(MESSAGE, "sender", DOMAIN, keys["sender"][0])


def _config(tmp_path: Path, keys: dict[str, tuple[bytes, bytes]], mode: str) -> DkimConfig:
    key_file = tmp_path / "org.pem"
    key_file.write_bytes(keys["org"][0])
    return DkimConfig.model_validate(
        {"mode": mode, "selector": SELECTOR, "domain": DOMAIN, "private_key": key_file}
    )


def test_a_signed_message_verifies_before_any_rewrite(signed: bytes, dnsfunc: DnsFunc) -> None:
    assert dkim.verify(signed, dnsfunc=dnsfunc)


def test_a_rewrite_breaks_the_senders_signature(signed: bytes, dnsfunc: DnsFunc) -> None:
    assert not dkim.verify(_rewrite(signed), dnsfunc=dnsfunc)


@pytest.mark.parametrize("mode", ["next_hop", "remove_broken", "resign"])
def test_unchanged_message_is_returned_untouched_and_still_verifies(
    tmp_path: Path, keys: dict[str, tuple[bytes, bytes]], signed: bytes, dnsfunc: DnsFunc,
    mode: str,
) -> None:
    out = apply_dkim(signed, signed, _config(tmp_path, keys, mode))
    assert out is signed
    assert dkim.verify(out, dnsfunc=dnsfunc)


def test_next_hop_mode_forwards_the_rewrite_as_is(
    tmp_path: Path, keys: dict[str, tuple[bytes, bytes]], signed: bytes
) -> None:
    rewritten = _rewrite(signed)
    assert apply_dkim(signed, rewritten, _config(tmp_path, keys, "next_hop")) is rewritten


def test_remove_broken_drops_a_signature_whose_body_hash_no_longer_matches(
    signed: bytes,
) -> None:
    out, removed = remove_broken(signed, _rewrite(signed))
    assert removed == 1
    assert get_values(out, "DKIM-Signature") == []
    assert out.endswith(REWRITTEN_BODY)


def test_remove_broken_keeps_a_signature_the_rewrite_did_not_touch(
    keys: dict[str, tuple[bytes, bytes]], dnsfunc: DnsFunc
) -> None:
    # Only a header nobody signed changes: the body hash and signed fields still match.
    signed = resign(MESSAGE, "sender", DOMAIN, keys["sender"][0], headers=["from", "subject"])
    rewritten = signed.replace(b"Content-Type:", b"X-Note: kept\r\nContent-Type:")
    out, removed = remove_broken(signed, rewritten)
    assert removed == 0 and out is rewritten
    assert dkim.verify(out, dnsfunc=dnsfunc)


def test_remove_broken_drops_a_signature_over_a_removed_header(
    keys: dict[str, tuple[bytes, bytes]],
) -> None:
    original = b"Disposition-Notification-To: boss@example.com\r\n" + MESSAGE
    signed = resign(original, "sender", DOMAIN, keys["sender"][0],
                    headers=["from", "subject", "disposition-notification-to"])
    rewritten = signed.replace(b"Disposition-Notification-To: boss@example.com\r\n", b"")
    out, removed = remove_broken(signed, rewritten)
    assert removed == 1
    assert b"DKIM-Signature" not in out


def test_remove_broken_mode_leaves_no_failing_signature(
    tmp_path: Path, keys: dict[str, tuple[bytes, bytes]], signed: bytes
) -> None:
    out = apply_dkim(signed, _rewrite(signed), _config(tmp_path, keys, "remove_broken"))
    assert get_values(out, "DKIM-Signature") == []


def test_resign_mode_replaces_the_broken_signature_with_one_that_verifies(
    tmp_path: Path, keys: dict[str, tuple[bytes, bytes]], signed: bytes, dnsfunc: DnsFunc
) -> None:
    out = apply_dkim(signed, _rewrite(signed), _config(tmp_path, keys, "resign"))
    (value,) = get_values(out, "DKIM-Signature")
    assert f"s={SELECTOR}" in value
    assert dkim.verify(out, dnsfunc=dnsfunc)


def test_resigned_lf_message_keeps_lf_line_endings_and_verifies(
    keys: dict[str, tuple[bytes, bytes]], dnsfunc: DnsFunc
) -> None:
    raw = MESSAGE.replace(b"\r\n", b"\n")
    out = resign(raw, SELECTOR, DOMAIN, keys["org"][0])
    assert b"\r" not in out and out.endswith(raw)
    assert dkim.verify(out, dnsfunc=dnsfunc)


def test_config_check_reports_a_missing_key_file(tmp_path: Path) -> None:
    config = DkimConfig.model_validate(
        {"mode": "resign", "selector": "s", "domain": DOMAIN, "private_key": tmp_path / "none"}
    )
    (problem,) = check(config)
    assert "cannot read" in problem


def test_config_check_accepts_a_readable_rsa_key(
    tmp_path: Path, keys: dict[str, tuple[bytes, bytes]]
) -> None:
    assert check(_config(tmp_path, keys, "resign")) == []
    assert check(DkimConfig()) == []
