"""Issue 6 end to end: withdrawal reaches a mail that was already delivered.

A message with a vendor's open pixel and click wrapper goes through the real relay (real
``PolicyService``, real ledger on SQLite, the web engineer's context factory wrapped with
routing) to a consenting recipient. The pixel and the link in the delivered message are then
requested through the real app: the vendor sees one request each, and never the recipient's
address or headers. The recipient withdraws on the recipient page reached from the footer of
that same message; the same pixel and link then tell the vendor nothing, the pixel is blank and
the link lands on the destination decoded from the wrapper.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from smtp_client import LineClient

from policy.service import PolicyService
from web.app import create_app
from web.config import WebConfig
from web.links import LinkSigner, context_factory
from web.routing import RouteSigner, with_routing
from web.services import WebServices
from web.tracking import GIF, TrackingServices, tracking_routes
from web.tracking_config import TrackingConfig

BASE_URL = "https://relay.test"
KEYS = ["key-2026-b", "key-2026-a"]
ANN = "ann@example.org"
CLIENT = ("203.0.113.7", 40123)
POLICY = """\
version = 1
name = "tracking end to end"

[default]
action = "strip"

[[rules]]
id = "consented"
consent = "any_granted"
action = "disclose"
route_through_relay = true
"""
ROUTED = re.compile(r"https://relay\.test/t/[A-Za-z0-9._-]+")
STOP = re.compile(r"https://relay\.test/p/[A-Za-z0-9._-]+")


def message(pixel: str, click: str) -> bytes:
    html = (
        "<html><body>\r\n<p>Hi Ann,</p>\r\n"
        f'<p>Your <a href="{click}">cart</a> is waiting.</p>\r\n'
        f'<img src="{pixel}" width="1" height="1" alt="">\r\n</body></html>\r\n'
    )
    headers = (
        "From: Shop <news@shop.example.com>\r\nTo: ann@example.org\r\n"
        "Subject: Your cart\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <cart-1@shop.example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    )
    return (headers + "\r\n" + html).encode()


async def relay_to_ann(relay_port: int, raw: bytes) -> None:
    client = await LineClient.connect(relay_port)
    assert (await client.cmd("EHLO client.example.org")).startswith("250")
    assert (await client.cmd("MAIL FROM:<news@shop.example.com>")).startswith("250")
    assert (await client.cmd(f"RCPT TO:<{ANN}>")).startswith("250")
    assert (await client.send_data(raw)).startswith("250")
    await client.close()


async def withdraw_on_the_page(client: httpx.AsyncClient, stop_url: str) -> None:
    page = await client.get(stop_url)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(nonce|csrf|lang)" value="([^"]*)"', page.text))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None and set(fields) == {"nonce", "csrf", "lang"}
    posted = await client.post(action.group(1), data={**fields, "choice": "withdraw"})
    assert posted.status_code == 303


async def test_withdrawal_stops_tracking_in_a_mail_already_delivered(
    relay_factory, upstream, vendor, db, ledger, cache, grant, tmp_path: Path
) -> None:
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(POLICY)
    policy = PolicyService(policy_path, cache)
    config = WebConfig(base_url=BASE_URL, signing_keys=KEYS)
    links = LinkSigner(KEYS, BASE_URL, config.link_max_age_days)
    routes = RouteSigner(KEYS, BASE_URL)
    relay = await relay_factory(
        decider=policy, context_factory=with_routing(context_factory(links), routes)
    )
    await grant(ANN)

    await relay_to_ann(relay.port, message(vendor.pixel(), vendor.click()))
    delivered = upstream.accepted[0].content.decode()
    assert vendor.pixel() not in delivered and vendor.click() not in delivered
    pixel_url, click_url = ROUTED.findall(delivered)[::-1]  # the link comes first in the body
    assert routes.verify(pixel_url.rsplit("/", 1)[1]).url == vendor.pixel()
    assert routes.verify(click_url.rsplit("/", 1)[1]).url == vendor.click()
    stop_url = STOP.findall(delivered)[0]

    tracking = TrackingServices.create(
        routes, cache, db, TrackingConfig(fetch_private_addresses=True)
    )
    services = WebServices(config, db, ledger, cache, policy, links, tracking_routes(tracking))
    transport = httpx.ASGITransport(app=create_app(services), client=CLIENT)
    browser = {"User-Agent": "Mozilla/5.0 (iPhone) Mobile/15E148", "Cookie": "s=ann"}
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=browser) as app,
        httpx.AsyncClient() as internet,
    ):
        opened = await app.get(pixel_url)
        assert opened.content == GIF
        clicked = await app.get(click_url)
        assert clicked.status_code == 302 and clicked.headers["location"] == vendor.click()
        await internet.get(clicked.headers["location"])  # the browser follows to the vendor
        assert sorted(s.path.split("/")[1] for s in vendor.seen) == ["CI0", "CL0"]
        fetched = next(s for s in vendor.seen if s.path.startswith("/CI0"))
        assert "cookie" not in fetched.headers and "iPhone" not in str(fetched.headers)
        assert CLIENT[0] not in str(fetched.headers) and fetched.client == "127.0.0.1"

        await withdraw_on_the_page(app, stop_url)
        assert not (await ledger.state(ANN)).granted("open_tracking")

        again = await app.get(pixel_url)
        assert again.status_code == 200 and again.content == GIF
        assert again.headers["cache-control"] == "no-store"
        landed = await app.get(click_url)
        assert landed.status_code == 302
        assert landed.headers["location"] == "https://shop.example.com/cart"
        assert len(vendor.seen) == 2  # nothing new since the withdrawal
    await tracking.close()
