"""End to end in a real browser: footer link from a relayed mail -> page -> POST -> stripped mail.

The relay, the upstream MTA (aiosmtpd), the policy service, the consent ledger on a SQLite file
and the web server (uvicorn) all run on this test's event loop; Debian's chromium is driven by
Playwright. Nothing is mocked.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from smtp_client import LineClient
from web_harness import CONTROLLER, make_services, web_config

from store.db import Database
from store.ledger import Ledger
from web.app import create_app
from web.links import context_factory
from web.server import WebHandle, start_web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
RECIPIENT = "carol@example.net"
PIXEL = "https://mailtrack.io/trace/mail/abc123.png?u=1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin"),
]


def message(subject: str) -> bytes:
    return (
        "From: Sales <sales@example.org>\r\n"
        f"To: Carol <{RECIPIENT}>\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "<!DOCTYPE html><html><body><p>Hello Carol, here is our offer.</p>\r\n"
        f'<img src="{PIXEL}" width="1" height="1" alt="">\r\n'
        "</body></html>\r\n"
    ).encode()


async def relay(port: int, subject: str) -> None:
    client = await LineClient.connect(port)
    await client.cmd("EHLO mta.example.org")
    assert (await client.cmd("MAIL FROM:<sales@example.org>")).startswith("250")
    assert (await client.cmd(f"RCPT TO:<{RECIPIENT}>")).startswith("250")
    assert (await client.send_data(message(subject))).startswith("250")
    await client.close()


def html_body(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    part = parsed.get_body(("html",))
    assert part is not None
    content: str = part.get_content()  # type: ignore[attr-defined]
    return content


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def web(db: Database, ledger: Ledger, policy_file: Path) -> AsyncIterator[Any]:
    port = free_port()
    config = web_config(base_url=f"http://127.0.0.1:{port}", listen=f"127.0.0.1:{port}")
    services = make_services(config, db, ledger, policy_file)
    services.cache.ttl = 0  # every RCPT asks the ledger, as another instance would after its TTL
    handle: WebHandle = await start_web(create_app(services), config.listen)
    yield services
    await handle.stop()


async def test_stop_tracking_from_the_footer_link_in_chromium_strips_the_next_mail(
    web: Any, ledger: Ledger, relay_factory: Any, upstream: Any, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    await ledger.record(RECIPIENT, ["open_tracking", "click_tracking"], "granted", method="api")
    harness = await relay_factory(decider=web.policy, context_factory=context_factory(web.signer))

    await relay(harness.port, "offer one")
    first = html_body(upstream.accepted[0].content)
    assert PIXEL in first, "consented: the pixel is kept"
    found = re.search(r'<a href="(http://127\.0\.0\.1:\d+/p/v1\.[A-Za-z0-9_\-.]+)"', first)
    assert found, f"no stop-tracking link in the delivered footer:\n{first}"
    link = found.group(1)
    assert web.signer.verify(link.rsplit("/p/", 1)[1]).recipient == RECIPIENT

    before = await ledger.history(RECIPIENT)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        page = await browser.new_page(locale="en-GB")
        response = await page.goto(link)
        assert response is not None and response.status == 200
        assert await page.locator("html").get_attribute("lang") == "en"
        assert await ledger.history(RECIPIENT) == before, "opening the link changed nothing"
        await page.screenshot(path=str(tmp_path / "choices.png"), full_page=True)

        await page.get_by_role("button", name="Stop tracking").click()
        await page.wait_for_url(re.compile(r"/done\?state=withdrawn"))
        assert await page.get_by_role("heading", level=1).inner_text() == "Your choice is saved"
        await page.screenshot(path=str(tmp_path / "done.png"), full_page=True)
        await browser.close()

    after = await ledger.history(RECIPIENT)
    withdrawn = [e for e in after if e.state == "withdrawn"]
    assert {e.purpose for e in withdrawn} == {"open_tracking", "click_tracking"}
    assert all(e.method == "page" and e.language == "en" and e.text_hash for e in withdrawn)
    assert all(e.controller == CONTROLLER for e in withdrawn)
    assert (tmp_path / "choices.png").stat().st_size > 0

    await relay(harness.port, "offer two")
    second = html_body(upstream.accepted[1].content)
    assert "mailtrack.io" not in second, "withdrawn: the pixel is stripped"
    assert "/p/v1." not in second, "no tracking left, so no disclosure footer"
