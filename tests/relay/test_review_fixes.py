"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

import asyncio
from pathlib import Path

from deciders import TableDecider
from smtp_client import LineClient

from policy.decision import Decision
from rewriters.treatment import PERMIT, Action, Treatment
from store.cache import ConsentCache
from store.db import Database
from store.journal import DeliveryJournal
from store.ledger import Ledger
from store.state import ConsentState
from web.links import LinkSigner, context_factory

TRACKED = (
    b"From: sales@example.org\r\nTo: a@partner.example\r\n"
    b"X-Consent-Relay-Category: marketing\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p>Hi</p><img src="https://mailtrack.io/trace/mail/abc123.png?u=1" width="1" height="1">\r\n'
)


class CategoryDecider(TableDecider):
    """Permit at RCPT time; a per-recipient disclose once the message says 'marketing'."""

    async def decide(self, sender: str, recipient: str, category: str | None = None) -> Decision:
        treatment = (Treatment(Action.DISCLOSE, per_recipient=True)
                     if category == "marketing" else PERMIT)
        return Decision(treatment, "cat", "v", ConsentState.unknown(recipient), category)


async def test_category_header_never_shares_one_persons_link_with_other_recipients(
    relay_factory, upstream
) -> None:
    relay = await relay_factory(decider=CategoryDecider())
    relay.handler.context_factory = context_factory(LinkSigner(["k"], "https://relay.test", 30))
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<sales@example.org>")
    assert (await client.cmd("RCPT TO:<a@partner.example>")).startswith("250")
    assert (await client.cmd("RCPT TO:<b@partner.example>")).startswith("250")
    assert (await client.send_data(TRACKED)).startswith("250")
    body = upstream.accepted[0].content
    assert upstream.accepted[0].rcpt_tos == ["a@partner.example", "b@partner.example"]
    assert b"https://relay.test/p/" not in body and b"mailtrack.io" not in body
    assert b"treatment=strip" in body


async def test_upstream_failing_at_a_later_rcpt_makes_data_a_retryable_451(
    relay_factory, upstream
) -> None:
    upstream.drop_on_rcpt.add("b@example.net")
    relay = await relay_factory()
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    assert (await client.cmd("RCPT TO:<a@example.net>")).startswith("250")
    assert (await client.cmd("RCPT TO:<b@example.net>")).startswith("4")
    reply = await client.send_data(b"Subject: x\r\n\r\nhello\r\n")
    assert reply.startswith("451 4.4.2")
    assert upstream.accepted == []


async def test_journal_key_survives_a_cancelled_caller(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    await db.upgrade("heads")
    journal = DeliveryJournal(db)
    task = asyncio.create_task(journal.remember("ab" * 32))
    await asyncio.sleep(0)
    task.cancel()
    assert await journal.already_delivered("ab" * 32)
    await asyncio.sleep(0.2)
    await db.dispose()


class LateLedger(Ledger):
    async def states(self, recipients):  # type: ignore[no-untyped-def]
        answer = await super().states(recipients)
        await asyncio.sleep(0.15)
        return answer


async def test_cache_ttl_counts_from_the_read_not_from_the_late_answer(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await db.upgrade("heads")
    cache = ConsentCache(LateLedger(db, "k"), ttl_seconds=0.1)
    await cache.lookup("ann@example.net")
    await cache.lookup("ann@example.net")
    assert cache.misses == 2  # the first answer was already older than the TTL
    await db.dispose()


async def test_refused_oversized_payload_ends_the_transaction(relay_factory, upstream) -> None:
    relay = await relay_factory(relay={"max_message_size": 200})
    client = await LineClient.connect(relay.port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    await client.cmd("RCPT TO:<b@example.net>")
    reply = await client.send_data(b"Subject: big\r\n\r\n" + b"x" * 500 + b"\r\n")
    assert reply.startswith("552")
    assert not any(c.busy for c in relay.server.connections)
    assert (await client.cmd("MAIL FROM:<a@example.org>")).startswith("250")
