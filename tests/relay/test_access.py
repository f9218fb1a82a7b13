"""No open relay: only allowed networks or authenticated users may send through us."""

from __future__ import annotations

from smtp_client import LineClient

from relay.access import Access, check_password, hash_password


async def test_client_outside_allowed_networks_gets_550_at_mail(relay_factory, upstream) -> None:
    relay = await relay_factory(relay={"allowed_clients": ["192.0.2.0/24"]})
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO stranger.example.com")
    reply = await client.cmd("MAIL FROM:<spammer@example.com>")
    assert reply.startswith("550 5.7.1 Relaying denied")
    assert (await client.cmd("RCPT TO:<victim@example.net>")).startswith("503")
    assert upstream.connections == 0 and upstream.accepted == []


async def test_client_inside_allowed_networks_may_relay(relay_factory, upstream) -> None:
    relay = await relay_factory(relay={"allowed_clients": ["127.0.0.0/8"]})
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    assert (await client.cmd("MAIL FROM:<staff@example.org>")).startswith("250")


def test_passwords_are_checked_against_scrypt_hashes() -> None:
    stored = hash_password("correct horse")
    assert check_password("correct horse", stored)
    assert not check_password("wrong", stored)
    assert not check_password("correct horse", "plain:text")


def test_ipv4_mapped_ipv6_peers_match_ipv4_networks() -> None:
    access = Access(["127.0.0.0/8"], {})
    assert access.client_allowed(("::ffff:127.0.0.1", 25, 0, 0))
    assert not access.client_allowed(("::ffff:192.0.2.1", 25, 0, 0))
    assert not access.client_allowed(("not-an-ip", 25))
