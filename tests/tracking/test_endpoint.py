"""``GET /t/<token>``: consent decides, at the moment of the open or click, who learns what."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from rewriters.treatment import Purpose
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.routing import RouteSigner
from web.tracking import GIF, TrackingServices, tracking_routes
from web.tracking_config import TrackingConfig

ANN = "ann@example.org"  # consents in these tests
BOB = "bob@example.org"  # never consented


def routed(signer, recipient: str, url: str, purpose: Purpose, ref: str = "trace-1") -> str:
    return signer.route_url_for(recipient, ref)(url, purpose)


async def test_consented_open_is_fetched_server_side_without_anything_of_the_recipient(
    site, signer, vendor, grant
) -> None:
    await grant(ANN)
    web = await site()
    response = await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.status_code == 200
    assert response.content == GIF and response.headers["content-type"] == "image/gif"
    assert response.headers["cache-control"] == "no-store"
    assert len(vendor.seen) == 1
    seen = vendor.seen[0]
    assert seen.path == "/CI0/0100018c1a2b3c4d/AbC=12"
    assert seen.headers["user-agent"] == "Mozilla/5.0 (compatible; consent-relay)"
    for header in ("cookie", "accept-language", "x-forwarded-for", "referer", "forwarded"):
        assert header not in seen.headers
    assert "203.0.113.7" not in repr(seen) and "iPhone" not in repr(seen)


async def test_the_vendor_s_cookie_is_never_sent_back(site, signer, vendor, grant) -> None:
    await grant(ANN)
    web = await site()
    url = routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING)
    await web.get(url)
    await web.get(url)
    assert len(vendor.seen) == 2
    assert "cookie" not in vendor.seen[1].headers


async def test_open_without_consent_is_a_blank_gif_and_nobody_is_told(site, signer, vendor) -> None:
    web = await site()
    response = await web.get(routed(signer, BOB, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.status_code == 200 and response.content == GIF
    assert response.headers["cache-control"] == "no-store"
    assert vendor.seen == []


async def test_redirect_mode_sends_a_consented_open_to_the_vendor(site, signer, vendor, grant):
    await grant(ANN)
    web = await site(mode="redirect")
    response = await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.status_code == 302
    assert response.headers["location"] == vendor.pixel()
    assert response.headers["cache-control"] == "no-store"
    assert vendor.seen == []  # the mail client follows the redirect, not the relay


async def test_consent_for_clicks_only_does_not_let_the_open_through(
    site, signer, vendor, grant
) -> None:
    await grant(ANN, "click_tracking")
    web = await site()
    response = await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.content == GIF and vendor.seen == []


async def test_consented_click_goes_to_the_original_tracked_url(site, signer, vendor, grant):
    await grant(ANN)
    web = await site()
    response = await web.get(routed(signer, ANN, vendor.click(), Purpose.CLICK_TRACKING))
    assert response.status_code == 302
    assert response.headers["location"] == vendor.click()
    assert response.headers["cache-control"] == "no-store"


async def test_click_without_consent_lands_on_the_decoded_destination(site, signer, vendor):
    web = await site()
    response = await web.get(routed(signer, BOB, vendor.click(), Purpose.CLICK_TRACKING))
    assert response.status_code == 302
    assert response.headers["location"] == "https://shop.example.com/cart"
    assert vendor.seen == []


async def test_decoded_destination_loses_its_per_person_parameters(site, signer):
    wrapper = (
        "https://mailtrack.io/trace/link/0123456789abcdef0123456789abcdef01234567"
        "?url=https%3A%2F%2Fshop.example.com%2Foffer%3Fmc_eid%3D77aa%26utm_source%3Dmail"
        "&userId=5&signature=abcd"
    )
    web = await site()
    response = await web.get(routed(signer, BOB, wrapper, Purpose.CLICK_TRACKING))
    assert response.headers["location"] == "https://shop.example.com/offer?utm_source=mail"


async def test_opaque_wrapper_without_consent_shows_a_plain_page_with_a_way_on(
    site, signer, vendor
) -> None:
    web = await site()
    url = routed(signer, BOB, vendor.opaque_click(), Purpose.CLICK_TRACKING)
    response = await web.get(url, **{"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert "passes through a tracker" in page
    assert f'href="{vendor.opaque_click()}"' in page
    assert "<script" not in page.lower() and "src=" not in page.lower()
    assert "http" not in page.replace(vendor.opaque_click(), "")
    assert vendor.seen == []


async def test_a_hostile_url_in_the_page_is_escaped(site, signer) -> None:
    url = 'https://t.example.com/c/x"><script>alert(1)</script>'
    web = await site()
    response = await web.get(routed(signer, BOB, url, Purpose.CLICK_TRACKING))
    assert "<script>" not in response.text


async def test_withdrawal_takes_effect_at_the_next_request(
    site, signer, vendor, grant, cache
) -> None:
    await grant(ANN)
    web = await site()
    pixel = routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING)
    await web.get(pixel)
    await grant(ANN, state="withdrawn")  # the ledger tells this process's cache at once
    response = await web.get(pixel)
    assert response.content == GIF
    assert len(vendor.seen) == 1


async def test_ann_s_token_only_ever_asks_about_ann(site, signer, vendor, grant) -> None:
    await grant(BOB)  # Bob consents, Ann does not
    web = await site()
    ann_click = routed(signer, ANN, vendor.click(), Purpose.CLICK_TRACKING)
    response = await web.get(ann_click + f"?recipient={BOB}", Cookie=f"recipient={BOB}")
    assert response.headers["location"] == "https://shop.example.com/cart"  # Ann's answer


@pytest.mark.parametrize("token", ["nonsense", "r1.AAAA.AAAA", "v1.abc.def"])
async def test_bad_tokens_get_404_and_reach_nobody(site, vendor, token: str) -> None:
    web = await site()
    response = await web.get(f"/t/{token}")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
    assert vendor.seen == []


async def test_a_forged_token_for_a_url_not_in_any_message_redirects_nowhere(site, vendor):
    forged = RouteSigner(["not-our-key"], "https://relay.test").route_url_for(ANN, "m")(
        "https://evil.example/login", Purpose.CLICK_TRACKING
    )
    web = await site()
    response = await web.get(forged)
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_an_unreachable_store_means_no_consent(signer, vendor, db, tmp_path) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/none.db")
    cache = ConsentCache(Ledger(broken, "k"), ttl_seconds=30, timeout=1.0)
    config = TrackingConfig(fetch_private_addresses=True)
    services = TrackingServices.create(signer, cache, db, config)
    transport = httpx.ASGITransport(app=Starlette(routes=tracking_routes(services)))
    async with httpx.AsyncClient(transport=transport, base_url="https://relay.test") as client:
        response = await client.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    await services.close()
    await broken.dispose()
    assert response.content == GIF and vendor.seen == []
    assert cache.store_errors == 1


async def test_fetches_to_private_addresses_are_refused_by_default(site, signer, vendor, grant):
    await grant(ANN)
    web = await site(fetch_private_addresses=False)
    response = await web.get(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.content == GIF
    assert vendor.seen == []
    assert web.services.stats["vendor_fetch_failed"] == 1


async def test_vendor_redirects_are_followed_a_bounded_number_of_times(
    site, signer, vendor, grant
) -> None:
    await grant(ANN)
    web = await site()
    await web.get(routed(signer, ANN, f"{vendor.base}/hop", Purpose.OPEN_TRACKING))
    assert [s.path for s in vendor.seen] == ["/hop", "/CI0/after-hop/AbC=12"]


async def test_head_requests_never_reach_the_vendor(site, signer, vendor, grant) -> None:
    await grant(ANN)
    web = await site()
    response = await web.client.head(routed(signer, ANN, vendor.pixel(), Purpose.OPEN_TRACKING))
    assert response.status_code == 200 and vendor.seen == []


async def test_a_slow_vendor_cannot_pile_up_work(site, signer, vendor, grant) -> None:
    await grant(ANN)
    web = await site(fetch_concurrency=1, fetch_timeout=0.2)
    url = routed(signer, ANN, f"{vendor.base}/slow", Purpose.OPEN_TRACKING)
    answers = await asyncio.gather(*(web.get(url) for _ in range(4)))
    assert all(a.content == GIF for a in answers)  # recipients never wait for the vendor's fate
    stats = web.services.stats
    assert stats["vendor_fetch_dropped"] == 2 and stats["vendor_fetch_failed"] == 2
    assert web.services.pending == 0


async def test_the_tracker_page_speaks_the_reader_s_language(site, signer, vendor) -> None:
    web = await site()
    url = routed(signer, BOB, vendor.opaque_click(), Purpose.CLICK_TRACKING)
    french = await web.get(url, **{"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Ce lien passe par un traceur" in french.text and 'lang="fr"' in french.text
    assert french.headers["content-language"] == "fr"
    german = await web.get(url, **{"Accept-Language": "de"})
    assert "Weiter über" in german.text
