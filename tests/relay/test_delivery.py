"""The happy paths: what the client sees and what upstream receives."""

from __future__ import annotations

from pathlib import Path

from deciders import TableDecider
from smtp_client import LineClient
from upstream_server import ScriptedUpstream

from rewriters.treatment import PERMIT, STRIP, Action, Treatment

DISCLOSE = Treatment(Action.DISCLOSE, per_recipient=True)


def crlf(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def open_transaction(port: int, sender: str = "joerg@example.org") -> LineClient:
    client = await LineClient.connect(port)
    assert (await client.cmd("EHLO client.example.org")).startswith("250")
    assert (await client.cmd(f"MAIL FROM:<{sender}>")).startswith("250")
    return client


async def test_message_with_nothing_to_strip_arrives_byte_identical(
    relay_factory, upstream: ScriptedUpstream, data_dir: Path
) -> None:
    relay = await relay_factory(trace_header=False)
    raw = crlf(data_dir / "relay" / "plain.eml")
    client = await open_transaction(relay.port)
    assert (await client.cmd("RCPT TO:<anna@example.net>")).startswith("250")
    reply = await client.send_data(raw)
    assert reply.startswith("250 2.0.0 Delivered upstream")
    assert len(upstream.accepted) == 1
    assert upstream.accepted[0].content == raw
    assert upstream.accepted[0].rcpt_tos == ["anna@example.net"]
    await client.close()


async def test_trace_header_is_the_only_addition(relay_factory, upstream, data_dir) -> None:
    relay = await relay_factory()
    raw = crlf(data_dir / "relay" / "plain.eml")
    client = await open_transaction(relay.port)
    await client.cmd("RCPT TO:<anna@example.net>")
    await client.send_data(raw)
    received = upstream.accepted[0].content
    first, _, rest = received.partition(b"\r\n")
    assert first.startswith(b"X-Consent-Relay-Trace: ") and b"changed=no" in first
    assert rest == raw


async def test_recipients_with_the_same_treatment_share_one_transaction(
    relay_factory, upstream, data_dir
) -> None:
    relay = await relay_factory()
    client = await open_transaction(relay.port)
    for rcpt in ("a@example.net", "b@example.net"):
        assert (await client.cmd(f"RCPT TO:<{rcpt}>")).startswith("250")
    assert (await client.send_data(crlf(data_dir / "relay" / "plain.eml"))).startswith("250")
    assert [m.rcpt_tos for m in upstream.accepted] == [["a@example.net", "b@example.net"]]


async def test_recipient_with_another_treatment_is_deferred_with_452(
    relay_factory, upstream, data_dir
) -> None:
    decider = TableDecider(by_recipient={"fan@example.net": PERMIT}, default=STRIP)
    relay = await relay_factory(decider=decider)
    client = await open_transaction(relay.port)
    assert (await client.cmd("RCPT TO:<a@example.net>")).startswith("250")
    deferred = await client.cmd("RCPT TO:<fan@example.net>")
    assert deferred.startswith("452 4.5.3")
    assert (await client.send_data(crlf(data_dir / "relay" / "plain.eml"))).startswith("250")
    assert [m.rcpt_tos for m in upstream.accepted] == [["a@example.net"]]
    # the client resends the deferred recipient in a new transaction on the same connection
    assert (await client.cmd("MAIL FROM:<joerg@example.org>")).startswith("250")
    assert (await client.cmd("RCPT TO:<fan@example.net>")).startswith("250")
    assert (await client.send_data(crlf(data_dir / "relay" / "plain.eml"))).startswith("250")
    assert [m.rcpt_tos for m in upstream.accepted] == [["a@example.net"], ["fan@example.net"]]
    assert upstream.connections == 1


async def test_per_recipient_treatment_allows_one_recipient_per_transaction(
    relay_factory, upstream
) -> None:
    relay = await relay_factory(decider=TableDecider(default=DISCLOSE))
    client = await open_transaction(relay.port)
    assert (await client.cmd("RCPT TO:<a@example.net>")).startswith("250")
    assert (await client.cmd("RCPT TO:<b@example.net>")).startswith("452")


async def test_policy_refusal_is_a_553_and_never_reaches_upstream(relay_factory, upstream) -> None:
    decider = TableDecider(refusals={"bad@example.net": "invalid domain"})
    relay = await relay_factory(decider=decider)
    client = await open_transaction(relay.port)
    reply = await client.cmd("RCPT TO:<bad@example.net>")
    assert reply.startswith("553 5.1.3") and "invalid domain" in reply


async def test_body_8bitmime_and_smtputf8_are_forwarded_but_size_is_not(
    relay_factory, upstream
) -> None:
    relay = await relay_factory(trace_header=False)
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO client.example.org")
    reply = await client.cmd("MAIL FROM:<jörg@exämple.org> BODY=8BITMIME SMTPUTF8 SIZE=300")
    assert reply.startswith("250"), reply
    assert (await client.cmd("RCPT TO:<zoë@exämple.net>")).startswith("250")
    raw = "From: jörg@exämple.org\r\nSubject: Grüße\r\n\r\nÄÖÜ ß 日本語\r\n".encode()
    assert (await client.send_data(raw)).startswith("250")
    accepted = upstream.accepted[0]
    assert accepted.content == raw
    assert accepted.mail_from == "jörg@exämple.org"
    assert accepted.rcpt_tos == ["zoë@exämple.net"]
    assert "BODY=8BITMIME" in accepted.mail_options and "SMTPUTF8" in accepted.mail_options
    assert not any(o.startswith("SIZE") for o in accepted.mail_options)


async def test_ehlo_advertises_size_8bitmime_smtputf8_and_no_auth_without_users(
    relay_factory,
) -> None:
    relay = await relay_factory(relay={"max_message_size": 12345})
    client = await LineClient.connect(relay.port)
    ehlo = await client.cmd("EHLO client.example.org")
    assert "SIZE 12345" in ehlo and "8BITMIME" in ehlo and "SMTPUTF8" in ehlo
    assert "AUTH" not in ehlo and "STARTTLS" not in ehlo


async def test_rset_abandons_the_transaction(relay_factory, upstream, data_dir) -> None:
    relay = await relay_factory()
    client = await open_transaction(relay.port)
    await client.cmd("RCPT TO:<a@example.net>")
    assert (await client.cmd("RSET")).startswith("250")
    assert (await client.cmd("DATA")).startswith("503")
    assert upstream.accepted == []
