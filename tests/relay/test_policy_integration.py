"""The real policy service, consent ledger and rewriting engine behind the real relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from smtp_client import LineClient

from policy.service import PolicyService
from relay.footers import FooterTemplates
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.links import LinkSigner, context_factory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await db.upgrade("heads")
    yield Ledger(db, "test-key")
    await db.dispose()


def sample() -> bytes:
    return (ROOT / "examples" / "tracked.eml").read_bytes().replace(b"\n", b"\r\n")


async def relay_sample(port: int, recipients: list[str]) -> list[str]:
    client = await LineClient.connect(port)
    await client.cmd("EHLO mta.example.org")
    await client.cmd("MAIL FROM:<sales@example.org>")
    replies = [await client.cmd(f"RCPT TO:<{r}>") for r in recipients]
    if any(r.startswith("250") for r in replies):
        replies.append(await client.send_data(sample()))
    await client.close()
    return replies


async def test_pixel_from_unconsented_recipient_is_removed_and_link_unwrapped(
    relay_factory, upstream, ledger: Ledger, data_dir: Path
) -> None:
    service = PolicyService(data_dir / "relay" / "policy.toml", ConsentCache(ledger, 0))
    relay = await relay_factory(decider=service)
    replies = await relay_sample(relay.port, ["anna@example.net"])
    assert replies[-1].startswith("250")
    body = upstream.accepted[0].content
    assert b"mailtrack.io" not in body and b"t.yesware.com" not in body
    assert b"Disposition-Notification-To" not in body
    assert b"https://www.example.org/quotes/4711" in body
    assert b"treatment=strip; changed=yes" in body


async def test_consenting_recipient_keeps_tracking_with_a_disclosure_footer(
    relay_factory, upstream, ledger: Ledger, data_dir: Path
) -> None:
    await ledger.record("bob@example.net", ["open_tracking", "click_tracking"], "granted",
                        method="admin")
    service = PolicyService(data_dir / "relay" / "policy.toml", ConsentCache(ledger, 0))
    relay = await relay_factory(decider=service)
    replies = await relay_sample(relay.port, ["bob@example.net"])
    assert replies[-1].startswith("250")
    body = upstream.accepted[0].content
    assert b"treatment=disclose" in body
    assert b"Mailtrack" in body  # the footer names the vendor found in this very message


async def test_mixed_consent_recipients_are_split_into_separate_transactions(
    relay_factory, upstream, ledger: Ledger, data_dir: Path
) -> None:
    await ledger.record("bob@example.net", ["open_tracking"], "granted", method="admin")
    service = PolicyService(data_dir / "relay" / "policy.toml", ConsentCache(ledger, 0))
    relay = await relay_factory(decider=service)
    replies = await relay_sample(relay.port, ["anna@example.net", "bob@example.net",
                                              "carl@example.net"])
    assert replies[0].startswith("250") and replies[1].startswith("452")
    assert replies[2].startswith("250") and replies[3].startswith("250")
    assert upstream.accepted[0].rcpt_tos == ["anna@example.net", "carl@example.net"]
    replies = await relay_sample(relay.port, ["bob@example.net"])
    assert replies[-1].startswith("250")
    assert [m.rcpt_tos for m in upstream.accepted] == [
        ["anna@example.net", "carl@example.net"], ["bob@example.net"]
    ]


async def test_unreachable_store_strips_and_still_delivers(relay_factory, upstream, tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x' / 'store.db'}")
    service = PolicyService(ROOT / "tests" / "data" / "relay" / "policy.toml",
                            ConsentCache(Ledger(db, "k"), 0))
    relay = await relay_factory(decider=service)
    replies = await relay_sample(relay.port, ["anna@example.net"])
    assert replies[-1].startswith("250")
    assert b"mailtrack.io" not in upstream.accepted[0].content
    assert service.cache.store_errors >= 1
    await db.dispose()


async def test_admin_footer_template_named_by_the_policy_is_used(
    relay_factory, upstream, ledger: Ledger, tmp_path: Path
) -> None:
    (tmp_path / "footer.txt").write_text("ACME tracks $purposes via $vendors. Stop: $stop_url\n")
    policy = (ROOT / "tests" / "data" / "relay" / "policy.toml").read_text()
    (tmp_path / "policy.toml").write_text(
        policy.replace('footer_language = "en"', 'footer_template = "footer.txt"')
    )
    await ledger.record("bob@example.net", ["open_tracking", "click_tracking"], "granted",
                        method="admin")
    service = PolicyService(tmp_path / "policy.toml", ConsentCache(ledger, 0))
    relay = await relay_factory(decider=service)
    relay.handler.footers = FooterTemplates(tmp_path)
    relay.handler.context_factory = context_factory(LinkSigner(["k"], "https://relay.test", 30))
    replies = await relay_sample(relay.port, ["bob@example.net"])
    assert replies[-1].startswith("250")
    text = upstream.accepted[0].content.decode("utf-8", "replace")
    assert "ACME tracks" in text and "https://relay.test/p/" in text
