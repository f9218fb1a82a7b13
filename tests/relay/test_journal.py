"""A client retry of a message whose 250 was lost is answered 250 and not sent again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from smtp_client import LineClient

from store.db import Database
from store.journal import DeliveryJournal
from store.keylog import KeyLog

MESSAGE = b"From: a@example.org\r\nMessage-ID: <retry-1@example.org>\r\n\r\nhello\r\n"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await database.upgrade("heads")
    yield database
    await database.dispose()


async def send_once(port: int, rcpt: str = "b@example.net") -> str:
    client = await LineClient.connect(port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<a@example.org>")
    await client.cmd(f"RCPT TO:<{rcpt}>")
    reply = await client.send_data(MESSAGE)
    await client.close()
    return reply


async def test_retry_after_lost_reply_is_not_delivered_twice(
    relay_factory, upstream, db: Database
) -> None:
    relay = await relay_factory(journal=DeliveryJournal(db))
    first = await send_once(relay.port)
    retry = await send_once(relay.port)
    assert first.startswith("250 2.0.0 Delivered")
    assert retry.startswith("250 2.0.0 Already delivered")
    assert len(upstream.accepted) == 1


async def test_same_body_to_another_recipient_is_a_new_delivery(
    relay_factory, upstream, db: Database
) -> None:
    relay = await relay_factory(journal=DeliveryJournal(db))
    await send_once(relay.port)
    assert (await send_once(relay.port, "c@example.net")).startswith("250 2.0.0 Delivered")
    assert len(upstream.accepted) == 2


async def test_restarted_relay_recognises_a_retry_from_before_the_crash(
    relay_factory, upstream, db: Database
) -> None:
    first_relay = await relay_factory(journal=DeliveryJournal(db))
    await send_once(first_relay.port)
    await first_relay.stop()
    restarted = DeliveryJournal(db)
    assert await restarted.load() == 1
    second_relay = await relay_factory(journal=restarted)
    assert (await send_once(second_relay.port)).startswith("250 2.0.0 Already delivered")
    assert len(upstream.accepted) == 1


async def test_a_delivery_whose_database_commit_was_cut_short_is_still_recognised(
    relay_factory, upstream, tmp_path: Path
) -> None:
    # The journal's database has no tables, so its commit fails, as if the process had been
    # killed before the commit: the key log written the instant upstream accepted remains.
    unmigrated = Database(f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}")
    keys = tmp_path / "delivered.keys"
    first_relay = await relay_factory(journal=DeliveryJournal(unmigrated, keylog=KeyLog(keys, 100)))
    assert (await send_once(first_relay.port)).startswith("250 2.0.0 Delivered")
    await first_relay.stop()
    await unmigrated.dispose()
    fresh = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    await fresh.upgrade("heads")
    restarted = DeliveryJournal(fresh, keylog=KeyLog(keys, 100))
    assert await restarted.load() == 1
    second_relay = await relay_factory(journal=restarted)
    assert (await send_once(second_relay.port)).startswith("250 2.0.0 Already delivered")
    assert len(upstream.accepted) == 1
    await fresh.dispose()
