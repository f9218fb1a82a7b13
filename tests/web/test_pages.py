"""Recipient pages: GET shows, POST records once, with evidence; links and forms are bound."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from page_forms import open_form, parse_form
from web_harness import BASE_URL, CONTROLLER, make_services, web_config

from store.audit import AuditStore
from store.db import Database
from store.events import text_hash
from store.ledger import Ledger
from web.app import create_app
from web.links import ALL_PURPOSES, LinkSigner
from web.services import WebServices

ANN = "ann@example.com"
BOB = "bob@example.com"


def path_of(services: WebServices, recipient: str, page: str = "") -> str:
    token = services.signer.sign(recipient, ALL_PURPOSES, CONTROLLER)
    return f"/p/{token}{'/' + page if page else ''}"


async def test_opening_every_page_with_get_never_changes_the_ledger(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    await ledger.record(ANN, ["open_tracking"], "granted", method="api")
    before = await ledger.history(ANN)
    for page in ("", "request", "data", "done?state=withdrawn"):
        for method in ("GET", "HEAD"):
            response = await client.request(method, path_of(services, ANN, page))
            assert response.status_code == 200, (page, method)
    assert await ledger.history(ANN) == before


async def test_stop_tracking_records_a_withdrawal_with_its_evidence_and_no_ip(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    await ledger.record(ANN, ALL_PURPOSES, "granted", method="api")
    form = await open_form(client, path_of(services, ANN), **{"Accept-Language": "fr"})
    response = await client.post(form.action, data=form.submit("withdraw"))
    assert response.status_code == 303
    assert "/done?state=withdrawn" in response.headers["location"]
    withdrawn = [e for e in await ledger.history(ANN) if e.state == "withdrawn"]
    assert {e.purpose for e in withdrawn} == set(ALL_PURPOSES)
    locale = services_locale(services, "fr")
    for event in withdrawn:
        assert event.method == "page" and event.language == "fr"
        assert event.text_version == locale.version
        assert event.ip is None
        assert event.text_hash is not None and len(event.text_hash) == 64
        assert json.loads(event.evidence or "{}")["choice"] == "withdraw"
    state = await ledger.state(ANN)
    assert not any(state.granted(p) for p in ALL_PURPOSES)
    done = await client.get(response.headers["location"])
    assert done.status_code == 200 and 'data-status="withdrawn"' in done.text
    assert '<html lang="fr">' in done.text
    assert "/done?state=withdrawn&amp;lang=de" in done.text, "the switch keeps the message"


def services_locale(services: WebServices, lang: str):  # type: ignore[no-untyped-def]
    from web.rendering import Renderer

    return Renderer(services.config.templates_dir).locale(lang)


async def test_the_recorded_text_hash_is_the_hash_of_the_statement_shown(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    page = await client.get(path_of(services, ANN), params={"lang": "en"})
    statement = re.search(r'<p id="statement">([^<]+)</p>', page.text)
    assert statement
    form = parse_form(page.text)
    await client.post(form.action, data=form.submit("grant"))
    shown = statement.group(1).replace("&#39;", "'")
    events = await ledger.history(ANN)
    assert events and all(e.state == "granted" for e in events)
    assert events[0].text_hash == text_hash(f"{shown}\n[Allow tracking]")


async def test_granting_and_stopping_take_the_same_single_click(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    for page in ("", "request"):
        form = await open_form(client, path_of(services, ANN, page))
        assert len(form.buttons) == 2
        assert len({cls for _, cls in form.buttons}) == 1, "no button is styled above the other"


async def test_a_replayed_post_records_nothing_new(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    first = await client.post(form.action, data=form.submit("grant"))
    again = await client.post(form.action, data=form.submit("grant"))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(await ledger.history(ANN)) == len(ALL_PURPOSES)


async def test_a_post_without_csrf_token_is_refused_and_records_nothing(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    data = form.submit("grant")
    del data["csrf"]
    response = await client.post(form.action, data=data)
    assert response.status_code == 403
    assert 'data-reason="form"' in response.text
    assert await ledger.history(ANN) == []


async def test_a_post_with_a_wrong_or_altered_csrf_token_is_refused(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    for csrf, nonce in (("123.abc", form.fields["nonce"]), (form.fields["csrf"], "other-nonce")):
        data = {**form.submit("grant"), "csrf": csrf, "nonce": nonce}
        assert (await client.post(form.action, data=data)).status_code == 403
    data = {**form.submit("grant"), "lang": "de"}  # the language shown is bound too
    assert (await client.post(form.action, data=data)).status_code == 403
    assert await ledger.history(ANN) == []


async def test_a_post_from_another_origin_is_refused(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    evil = {"Origin": "https://evil.example"}
    response = await client.post(form.action, data=form.submit("grant"), headers=evil)
    assert response.status_code == 403
    same = await client.post(form.action, data=form.submit("grant"), headers={"Origin": BASE_URL})
    assert same.status_code == 303


async def test_a_form_shown_to_a_cannot_change_b_and_a_link_only_changes_its_own_recipient(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    await ledger.record(BOB, ALL_PURPOSES, "granted", method="api")
    bob_before = await ledger.history(BOB)
    ann_form = await open_form(client, path_of(services, ANN))
    bob_path = path_of(services, BOB)
    response = await client.post(bob_path, data=ann_form.submit("withdraw"))
    assert response.status_code == 403
    ok = await client.post(ann_form.action, data=ann_form.submit("withdraw"))
    assert ok.status_code == 303
    assert await ledger.history(BOB) == bob_before
    assert {e.recipient for e in await ledger.history(ANN)} == {ANN}


async def test_a_tampered_link_shows_a_clear_400_page_not_a_traceback(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    path = path_of(services, ANN)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for url in (tampered, "/p/v1.not-a-token.x", "/p/nonsense/request", tampered + "/data"):
        response = await client.get(url)
        assert response.status_code == 400, url
        assert "<h1>This link cannot be used</h1>" in response.text
        assert "Traceback" not in response.text
    post = await client.post(tampered, data={"choice": "grant"})
    assert post.status_code == 400
    assert await ledger.history(ANN) == []


async def test_a_link_signed_with_a_retired_key_gets_a_400_page_naming_the_reason(
    db: Database, ledger: Ledger, policy_file: Path
) -> None:
    old = LinkSigner(["retired-key"], BASE_URL, 400, controller=CONTROLLER)
    token = old.sign(ANN, ALL_PURPOSES, CONTROLLER)
    rotated = make_services(web_config(signing_keys=["new-key"]), db, ledger, policy_file)
    transport = httpx.ASGITransport(app=create_app(rotated))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get(f"/p/{token}", params={"lang": "de"})
        assert response.status_code == 400
        assert 'data-reason="unknown_key"' in response.text
        assert "nicht mehr verwendeten Schlüssel" in response.text
    still = make_services(
        web_config(signing_keys=["new-key", "retired-key"]), db, ledger, policy_file
    )
    transport = httpx.ASGITransport(app=create_app(still))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        assert (await http.get(f"/p/{token}")).status_code == 200


async def test_a_link_for_another_controller_is_refused(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    token = services.signer.sign(ANN, ALL_PURPOSES, "someone-else")
    response = await client.get(f"/p/{token}")
    assert response.status_code == 400 and 'data-reason="controller"' in response.text


async def test_with_sec_gpc_objection_comes_first_as_the_primary_choice_and_is_recorded(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    plain = await open_form(client, path_of(services, ANN))
    assert [v for v, _ in plain.buttons] == ["grant", "withdraw"]
    page = await client.get(path_of(services, ANN), headers={"Sec-GPC": "1"})
    form = parse_form(page.text)
    assert form.buttons[0] == ("object", "primary")
    assert "Global Privacy Control" in page.text
    await client.post(form.action, data=form.submit("object"), headers={"Sec-GPC": "1"})
    state = await ledger.state(ANN)
    assert {s.status.value for s in state.purposes.values()} == {"objected"}
    assert json.loads((await ledger.history(ANN))[0].evidence or "{}")["gpc"] is True


async def test_the_request_page_records_a_refusal_or_a_grant(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN, "request"))
    assert [v for v, _ in form.buttons] == ["grant", "refuse"]
    response = await client.post(form.action, data=form.submit("refuse"))
    assert response.status_code == 303
    assert {e.state for e in await ledger.history(ANN)} == {"refused"}


async def test_the_language_follows_accept_language_and_the_manual_switch_wins(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    path = path_of(services, ANN)
    cases = {
        "de-CH,de;q=0.9,en;q=0.5": ("de", "Messung erlauben"),
        "pt-BR, nl;q=0.8": ("nl", "Meten toestaan"),
        "es": ("es", "Permitir el seguimiento"),
        "it-IT": ("it", "Consenti il tracciamento"),
        "ja": ("en", "Allow tracking"),
        "fr;q=0, en;q=0.1": ("en", "Allow tracking"),
    }
    for header, (lang, label) in cases.items():
        response = await client.get(path, headers={"Accept-Language": header})
        assert f'<html lang="{lang}">' in response.text, header
        assert label in response.text, header
    switched = await client.get(path, params={"lang": "fr"}, headers={"Accept-Language": "de"})
    assert '<html lang="fr">' in switched.text and "Autoriser le suivi" in switched.text
    assert switched.headers["content-language"] == "fr"
    for code in ("en", "fr", "de", "it", "es", "nl"):
        assert f'href="{path}?lang={code}" hreflang="{code}"' in switched.text


async def test_pages_carry_no_scripts_no_remote_assets_and_are_labelled(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    for page in ("", "request", "data"):
        response = await client.get(path_of(services, ANN, page))
        html = response.text.lower()
        assert "<script" not in html and "<link" not in html and "<img" not in html
        assert "src=" not in html and "http://" not in html and "https://" not in html
        assert "set-cookie" not in response.headers
        assert "script-src" not in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "same-origin"
        assert '<html lang="en">' in html and "<h1>" in html and "<main>" in html


async def test_the_data_page_lists_the_history_of_that_address_only(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    await ledger.record(ANN, ["open_tracking"], "granted", method="import", source_id="crm")
    await ledger.record(BOB, ["open_tracking"], "objected", method="api")
    response = await client.get(path_of(services, ANN, "data"))
    assert response.status_code == 200
    assert "imported" in response.text and ANN in response.text
    assert BOB not in response.text and "objected to" not in response.text
    assert "Delivery decisions" not in response.text, "no audit store configured"
    services.audit = AuditStore(services.db)
    counted = await client.get(path_of(services, ANN, "data"), params={"lang": "de"})
    assert "gespeicherte Zustellentscheidungen: 0" in counted.text


async def test_ip_is_stored_only_when_configured(db: Database, policy_file: Path) -> None:
    ledger = Ledger(db, "k", CONTROLLER, keep_ip=True)
    services = make_services(web_config(store_ip=True), db, ledger, policy_file)
    transport = httpx.ASGITransport(app=create_app(services), client=("192.0.2.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        form = await open_form(http, path_of(services, ANN))
        await http.post(form.action, data=form.submit("grant"))
    assert {e.ip for e in await ledger.history(ANN)} == {"192.0.2.7"}


async def test_an_admin_template_and_text_override_is_used_before_the_packaged_ones(
    tmp_path: Path, db: Database, ledger: Ledger, policy_file: Path
) -> None:
    custom = tmp_path / "custom"
    (custom / "locales").mkdir(parents=True)
    (custom / "locales" / "en.toml").write_text('[text]\nbutton_grant = "Yes, measure"\n')
    (custom / "error.html").write_text('<!DOCTYPE html><html lang="{{ lang }}">custom {{ reason }}')
    services = make_services(web_config(templates_dir=custom), db, ledger, policy_file)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        page = await http.get(path_of(services, ANN))
        assert "Yes, measure" in page.text and "Stop tracking" in page.text
        form = parse_form(page.text)
        await http.post(form.action, data=form.submit("grant"))
        assert (await http.get("/p/broken")).text.endswith("custom malformed")
    version = (await ledger.history(ANN))[0].text_version or ""
    assert "+custom-" in version


async def test_concurrent_replays_of_one_submission_record_it_once(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    replies = await asyncio.gather(
        *(client.post(form.action, data=form.submit("grant")) for _ in range(8))
    )
    assert {r.status_code for r in replies} == {303}
    assert len(await ledger.history(ANN)) == len(ALL_PURPOSES)


async def test_an_unknown_button_value_is_refused(
    client: httpx.AsyncClient, services: WebServices, ledger: Ledger
) -> None:
    form = await open_form(client, path_of(services, ANN))
    response = await client.post(form.action, data={**form.fields, "choice": "refuse"})
    assert response.status_code == 403  # "refuse" belongs to the request page's form
    assert await ledger.history(ANN) == []


async def test_an_expired_link_shows_the_expired_page(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    old = datetime.now(UTC) - timedelta(days=services.config.link_max_age_days + 1)
    token = services.signer.sign(ANN, ALL_PURPOSES, CONTROLLER, old)
    response = await client.get(f"/p/{token}", params={"lang": "es"})
    assert response.status_code == 400
    assert "demasiado antiguo" in response.text
