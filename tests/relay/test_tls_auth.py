"""STARTTLS and AUTH: credentials only over TLS; AUTH lets an outside client relay."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import aiosmtplib
import pytest

from relay.access import hash_password

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=relay.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


async def test_auth_is_offered_only_after_starttls_and_lets_a_user_relay(
    relay_factory, upstream, certificate
) -> None:
    cert, key = certificate
    relay = await relay_factory(
        relay={"tls_cert": cert, "tls_key": key, "allowed_clients": ["192.0.2.0/24"]},
        users={"mta": hash_password("s3cret")},
    )
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port, start_tls=False,
                             validate_certs=False, timeout=10)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("starttls")
    assert not client.supports_extension("auth")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail("a@example.org")
    assert refused.value.code == 550
    await client.rset()
    await client.starttls()
    await client.ehlo()
    assert client.supports_extension("auth")
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await client.login("mta", "wrong")
    await client.login("mta", "s3cret")
    await client.mail("a@example.org")
    await client.rcpt("b@example.net")
    reply = await client.data(b"Subject: over tls\r\n\r\nhi\r\n")
    assert reply.code == 250
    assert len(upstream.accepted) == 1
    await client.quit()


async def test_require_tls_refuses_mail_before_starttls(relay_factory, upstream, certificate):
    cert, key = certificate
    relay = await relay_factory(relay={"tls_cert": cert, "tls_key": key, "require_tls": True})
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.port, start_tls=False,
                             validate_certs=False, timeout=10)
    await client.connect()
    await client.ehlo()
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail("a@example.org")
    assert refused.value.code == 530
    assert upstream.accepted == []
