"""Faults and bad input. Each test asserts the invariant of the relay:

upstream received the message exactly once and the client saw 250, or upstream received
nothing and the client saw a 4xx/5xx.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from smtp_client import LineClient
from upstream_server import ScriptedUpstream

from relay.config import RelayConfig

MESSAGE = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: t\r\n\r\nhello\r\n"


def assert_once_or_never(reply: str, upstream: ScriptedUpstream) -> None:
    if reply.startswith("250"):
        assert len(upstream.accepted) == 1, reply
    else:
        assert reply[:1] in "45", reply
        assert upstream.accepted == [], reply


async def send(port: int, rcpts: tuple[str, ...] = ("b@example.net",)) -> tuple[LineClient, str]:
    client = await LineClient.connect(port)
    await client.cmd("EHLO mta.example.org")
    reply = await client.cmd("MAIL FROM:<a@example.org>")
    if not reply.startswith("250"):
        return client, reply
    for rcpt in rcpts:
        await client.cmd(f"RCPT TO:<{rcpt}>")
    return client, await client.send_data(MESSAGE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_upstream_unreachable_at_mail_gives_451(relay_factory, upstream) -> None:
    await upstream.stop()
    relay = await relay_factory(upstream={"port": free_port(), "timeout": 2})
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    reply = await client.cmd("MAIL FROM:<a@example.org>")
    assert reply.startswith("451 4.4.1")
    assert upstream.accepted == []


async def test_upstream_mail_refusal_is_passed_through(relay_factory, upstream) -> None:
    upstream.mail_reply = "550 5.7.1 Sender blocked by upstream"
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    assert (await client.cmd("MAIL FROM:<a@example.org>")).startswith("550 5.7.1 Sender blocked")


@pytest.mark.parametrize("code", ["450 4.2.0 Mailbox busy", "550 5.1.1 No such user"])
async def test_upstream_rcpt_answer_is_given_to_the_client(relay_factory, upstream, code) -> None:
    upstream.rcpt_replies["gone@example.net"] = code
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    assert (await client.cmd("RCPT TO:<gone@example.net>")) == code
    assert (await client.cmd("RCPT TO:<ok@example.net>")).startswith("250")
    reply = await client.send_data(MESSAGE)
    assert_once_or_never(reply, upstream)
    assert upstream.accepted[0].rcpt_tos == ["ok@example.net"]


@pytest.mark.parametrize("code", ["451 4.3.0 Try later", "554 5.6.0 Content rejected"])
async def test_upstream_refusal_after_data_is_passed_through(relay_factory, upstream, code) -> None:
    upstream.data_reply = code
    relay = await relay_factory()
    _, reply = await send(relay.port)
    assert reply == code
    assert_once_or_never(reply, upstream)


async def test_upstream_dropping_mid_data_gives_451(relay_factory, upstream) -> None:
    upstream.drop_on_data = True
    relay = await relay_factory()
    _, reply = await send(relay.port)
    assert reply.startswith("451 4.4.2")
    assert_once_or_never(reply, upstream)


async def test_upstream_never_answering_the_final_dot_gives_451(relay_factory, upstream) -> None:
    upstream.hang_on_data = True
    relay = await relay_factory(upstream={"final_reply_timeout": 1.0})
    _, reply = await send(relay.port)
    assert reply.startswith("451 4.4.2") and "may have been delivered" in reply
    assert_once_or_never(reply, upstream)


async def test_client_disconnecting_mid_data_delivers_nothing(relay_factory, upstream) -> None:
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    await client.cmd("RCPT TO:<b@example.net>")
    assert (await client.cmd("DATA")).startswith("354")
    client.writer.write(b"Subject: half\r\n\r\nonly half of the bo")
    await client.writer.drain()
    await client.close()
    await asyncio.sleep(0.3)
    assert upstream.accepted == []
    assert not any(c.busy for c in relay.server.connections)


async def test_message_over_the_size_limit_gets_552(relay_factory, upstream) -> None:
    relay = await relay_factory(relay={"max_message_size": 1000})
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    assert (await client.cmd("MAIL FROM:<a@example.org> SIZE=5000")).startswith("552")
    await client.cmd("RSET")
    await client.cmd("MAIL FROM:<a@example.org>")
    await client.cmd("RCPT TO:<b@example.net>")
    reply = await client.send_data(b"Subject: big\r\n\r\n" + b"x" * 900 + b"\r\n" * 200)
    assert reply.startswith("552")
    assert_once_or_never(reply, upstream)


async def test_over_long_line_is_refused(relay_factory, upstream) -> None:
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    await client.cmd("RCPT TO:<b@example.net>")
    reply = await client.send_data(b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n")
    assert reply.startswith("500")
    assert_once_or_never(reply, upstream)


async def test_garbage_commands_get_errors_and_the_session_survives(
    relay_factory, upstream
) -> None:
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    assert (await client.cmd("HELLO?")).startswith("500")
    assert (await client.cmd(b"\xff\xfe\x00garbage")).startswith("500")
    assert (await client.cmd("RCPT TO:<b@example.net>")).startswith("503")
    assert (await client.cmd("EHLO mta.example.org")).startswith("250")
    assert (await client.cmd("MAIL FROM:<not an address")).startswith("5")
    assert (await client.cmd("DATA")).startswith("503")
    assert (await client.cmd("NOOP")).startswith("250")


async def test_decider_crash_becomes_451_with_trace_id_not_exception_text(
    relay_factory, upstream
) -> None:
    class Broken:
        async def decide(self, sender: str, recipient: str, category: str | None = None):
            raise RuntimeError("secret internal detail")

    relay = await relay_factory(decider=Broken())
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    reply = await client.cmd("RCPT TO:<b@example.net>")
    assert reply.startswith("451 4.3.0") and "secret" not in reply and "(" in reply


async def test_shutdown_lets_an_in_flight_message_finish(relay_factory, upstream) -> None:
    relay = await relay_factory()
    _client, reply = await send(relay.port)
    assert reply.startswith("250")
    await relay.server.stop(grace=1.0)
    with pytest.raises((ConnectionError, asyncio.TimeoutError, OSError)):
        await LineClient.connect(relay.port)
    assert len(upstream.accepted) == 1


def test_relay_config_rejects_bad_networks_and_listen_addresses() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        RelayConfig(allowed_clients=["not-a-net"])
    with pytest.raises(ValueError, match="host:port"):
        RelayConfig(listen="localhost")


async def test_a_2xx_other_than_250_to_mail_counts_as_accepted(relay_factory, upstream) -> None:
    upstream.mail_reply = "251 2.1.0 Sender OK, will forward"
    upstream.mail_reply_keeps_sender = True
    relay = await relay_factory()
    _, reply = await send(relay.port)
    assert reply.startswith("250 2.0.0 Delivered")
    assert_once_or_never(reply, upstream)


async def test_a_nonsense_code_after_the_final_dot_gives_a_retryable_451(
    relay_factory, upstream
) -> None:
    upstream.data_reply = "354 go ahead (again?)"
    relay = await relay_factory()
    _, reply = await send(relay.port)
    assert reply.startswith("451 4.4.2")


async def test_a_bounce_with_the_null_sender_is_relayed(relay_factory, upstream) -> None:
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    assert (await client.cmd("MAIL FROM:<>")).startswith("250")
    assert (await client.cmd("RCPT TO:<b@example.net>")).startswith("250")
    reply = await client.send_data(MESSAGE)
    assert reply.startswith("250 2.0.0 Delivered")
    assert [a.mail_from for a in upstream.accepted] == ["<>"]


async def test_an_upstream_reply_code_outside_smtp_gives_a_retryable_451(
    relay_factory, upstream
) -> None:
    upstream.rcpt_replies["odd@example.net"] = "700 not an SMTP reply"
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    assert (await client.cmd("RCPT TO:<odd@example.net>")).startswith("451")
