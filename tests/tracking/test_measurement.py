"""What the relay itself remembers about routed hits: as little as the configuration allows."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from rewriters.treatment import Purpose
from store.tracking import TrackingBuffer, TrackingEvent, TrackingStore

ANN = "ann@example.org"  # consents
BOB = "bob@example.org"  # does not
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


def routed(signer, recipient: str, url: str, purpose: Purpose, ref: str = "trace-1") -> str:
    return signer.route_url_for(recipient, ref)(url, purpose)


async def stored(web):
    await web.services.buffer.flush()
    store = web.services.buffer.store
    counts = [(c.message_ref, c.purpose, c.source, c.hits) for c in await store.counts()]
    return counts, store


async def test_counts_per_message_and_purpose_with_machines_apart(site, signer, vendor, grant):
    await grant(ANN)
    web = await site()
    await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    await web.get(
        routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING), **{"User-Agent": GMAIL_PROXY}
    )
    await web.get(routed(signer, ANN, vendor.click(), Purpose.CLICK_TRACKING))
    counts, store = await stored(web)
    assert sorted(counts) == [
        ("trace-1", "click_tracking", "person", 1),
        ("trace-1", "open_tracking", "machine", 1),
        ("trace-1", "open_tracking", "person", 2),
    ]
    assert await store.events(ANN) == []  # counts mode identifies nobody


async def test_hits_without_consent_only_feed_an_all_messages_total(site, signer, vendor):
    web = await site()
    await web.get(routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING, ref="trace-9"))
    counts, _ = await stored(web)
    assert counts == [("", "open_tracking", "person", 1)]


async def test_identified_mode_records_who_and_when_only_under_consent(
    site, signer, vendor, grant
) -> None:
    await grant(ANN)
    web = await site(measurement="identified")
    await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    await web.get(
        routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING), **{"User-Agent": "Mozilla/5.0"}
    )
    await web.get(routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING))
    _, store = await stored(web)
    events = await store.events(ANN)
    assert [(e.recipient, e.message_ref, e.purpose) for e in events] == [
        (ANN, "trace-1", "open_tracking")
    ]
    assert events[0].occurred_at.second == 0  # to the minute, no finer
    assert await store.events(BOB) == []
    columns = set(TrackingEvent.__table__.columns.keys())
    assert columns == {"id", "recipient", "message_ref", "purpose", "occurred_at"}


async def test_deliverability_mode_keeps_only_the_date_of_the_last_open(site, signer, vendor):
    web = await site(measurement="deliverability")
    await web.get(routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING))
    await web.get(
        routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING), **{"User-Agent": GMAIL_PROXY}
    )
    counts, store = await stored(web)
    assert await store.last_open(BOB) == datetime.now(UTC).date()
    assert await store.last_open(ANN) is None  # a proxy's fetch is not a person's open
    assert counts == [] and await store.events(BOB) == []
    assert vendor.seen == []  # and Bob's open still told no vendor


async def test_prefetcher_opens_never_become_consent(site, signer, vendor, ledger) -> None:
    web = await site(measurement="identified")
    await web.get(
        routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING), **{"User-Agent": "Mozilla/5.0"}
    )
    await web.get(routed(signer, BOB, vendor.click(), Purpose.CLICK_TRACKING))
    assert await ledger.history(BOB) == []
    assert not (await ledger.state(BOB)).granted("open_tracking")


async def test_measurement_none_records_nothing(site, signer, vendor, grant) -> None:
    await grant(ANN)
    web = await site(measurement="none")
    await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert web.services.buffer is None
    assert len(vendor.seen) == 1


async def test_counters_are_flushed_periodically_in_the_background(site, signer, vendor, db):
    web = await site(flush_interval=0.05)
    await web.services.start()
    await web.get(routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING))
    store = TrackingStore(db)
    for _ in range(100):  # bounded: at most 5 s
        if await store.counts():
            break
        await asyncio.sleep(0.05)
    assert [c.hits for c in await store.counts()] == [1]


async def test_a_failed_flush_keeps_the_hits_for_the_next_one(db, tmp_path) -> None:
    from store.db import Database

    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/none.db")
    buffer = TrackingBuffer(TrackingStore(broken))
    buffer.count(date(2026, 11, 29), "m", "open_tracking", "person")
    await buffer.flush()
    await broken.dispose()
    assert buffer.flush_errors == 1
    buffer.store = TrackingStore(db)
    await buffer.flush()
    assert [c.hits for c in await buffer.store.counts()] == [1]


async def test_beyond_the_buffer_limit_new_hits_are_dropped_and_counted(db) -> None:
    buffer = TrackingBuffer(TrackingStore(db), limit=2)
    for ref in ("a", "b", "c", "a"):
        buffer.count(date(2026, 11, 29), ref, "open_tracking", "person")
    assert buffer.dropped == 1
    await buffer.flush()
    assert sorted((c.message_ref, c.hits) for c in await buffer.store.counts()) == [
        ("a", 2),
        ("b", 1),
    ]


async def test_erasure_removes_events_and_last_open_but_counts_hold_no_address(db) -> None:
    store = TrackingStore(db)
    when = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    buffer = TrackingBuffer(store)
    buffer.event(ANN, "m", "open_tracking", when)
    buffer.last_open(ANN, when.date())
    buffer.count(when.date(), "m", "open_tracking", "person")
    await buffer.flush()
    exported = await store.export(ANN)
    assert exported["last_open"] == "2026-11-29" and len(exported["tracking_events"]) == 1
    assert await store.erase(ANN) == 2
    assert await store.export(ANN) == {"tracking_events": [], "last_open": None}
    assert len(await store.counts()) == 1


async def test_retention_purges_what_is_older_than_the_limit(db) -> None:
    from datetime import timedelta

    store = TrackingStore(db)
    buffer = TrackingBuffer(store)
    old = datetime(2020, 1, 1, 9, 0, tzinfo=UTC)
    buffer.count(old.date(), "m", "open_tracking", "person")
    buffer.event(ANN, "m", "open_tracking", old)
    buffer.last_open(ANN, old.date())
    buffer.count(datetime.now(UTC).date(), "n", "open_tracking", "person")
    await buffer.flush()
    assert await store.purge(timedelta(days=395)) == 3
    assert [c.message_ref for c in await store.counts()] == ["n"]
    assert await store.events(ANN) == [] and await store.last_open(ANN) is None
