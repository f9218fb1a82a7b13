"""Admin API: bearer tokens, consent events, subjects, export and erasure, policy reload."""

from __future__ import annotations

from pathlib import Path

import httpx
from web_harness import POLICY

from store.audit import AuditStore, NewDecision, NewRecipient
from store.ledger import Ledger
from web.services import WebServices

API = "/admin/api"
ANN = "ann@example.com"
ROUTES = [
    ("POST", f"{API}/events"),
    ("POST", f"{API}/events/import"),
    ("GET", f"{API}/subjects/{ANN}"),
    ("GET", f"{API}/subjects/{ANN}/export"),
    ("POST", f"{API}/subjects/{ANN}/erase"),
    ("POST", f"{API}/policy/reload"),
    ("GET", f"{API}/decisions"),
]


async def test_every_admin_route_is_401_without_a_token_and_403_with_a_wrong_one(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    await ledger.record(ANN, ["open_tracking"], "refused", method="api")
    for method, url in ROUTES:
        missing = await client.request(method, url, json={})
        assert missing.status_code == 401, url
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.request(
            method, url, json={}, headers={"Authorization": "Bearer not-the-token"}
        )
        assert wrong.status_code == 403, url
        basic = await client.request(method, url, headers={"Authorization": "Basic YTpi"})
        assert basic.status_code == 401, url
    assert len(await ledger.history(ANN)) == 1, "nothing was erased or recorded"


async def test_an_event_is_recorded_with_the_admin_as_actor(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger
) -> None:
    body = {
        "recipient": "Ann@Example.COM",
        "purposes": ["open_tracking", "click_tracking"],
        "state": "granted",
        "text": "Yes you may",
        "text_version": "crm-3",
        "language": "en",
        "expires_at": "2030-01-01T00:00:00Z",
    }
    response = await client.post(f"{API}/events", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert len(response.json()["ids"]) == 2
    events = await ledger.history(ANN)
    assert {e.method for e in events} == {"api"}
    assert all(e.actor and e.actor.startswith("admin:") for e in events)
    assert (await ledger.state(ANN)).granted("click_tracking")


async def test_invalid_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger
) -> None:
    cases = [
        (
            {"recipient": "no-at-sign", "purposes": ["open_tracking"], "state": "granted"},
            ["body", "recipient"],
        ),
        (
            {"recipient": ANN, "purposes": ["profiling"], "state": "granted"},
            ["body", "purposes", 0],
        ),
        ({"recipient": ANN, "purposes": ["open_tracking"], "state": "maybe"}, ["body", "state"]),
        (
            {"recipient": ANN, "purposes": ["open_tracking"], "state": "granted", "method": "page"},
            ["body", "method"],
        ),
        (
            {
                "recipient": ANN,
                "purposes": ["open_tracking"],
                "state": "granted",
                "expires_at": "2030-01-01T00:00:00",
            },
            ["body", "expires_at"],
        ),
        (
            {"recipient": ANN, "purposes": ["open_tracking"], "state": "granted", "colour": 1},
            ["body", "colour"],
        ),
    ]
    for body, loc in cases:
        response = await client.post(f"{API}/events", json=body, headers=admin)
        assert response.status_code == 422, body
        assert loc in [e["loc"] for e in response.json()["detail"]], response.json()
    broken = await client.post(f"{API}/events", content=b"{not json", headers=admin)
    assert broken.status_code == 422 and broken.json()["detail"][0]["loc"] == ["body"]
    bad_path = await client.get(f"{API}/subjects/not-an-address", headers=admin)
    assert bad_path.status_code == 422
    assert bad_path.json()["detail"][0]["loc"] == ["path", "address"]
    assert await ledger.history(ANN) == []


async def test_a_bulk_import_stores_every_row_or_none(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger
) -> None:
    rows = [
        {
            "recipient": f"user{i}@example.com",
            "purposes": ["open_tracking"],
            "state": "granted",
            "occurred_at": "2026-05-01T10:00:00+02:00",
            "source_id": f"crm-{i}",
        }
        for i in range(50)
    ]
    bad = [*rows, {**rows[0], "recipient": "broken"}]
    refused = await client.post(f"{API}/events/import", json={"events": bad}, headers=admin)
    assert refused.status_code == 422
    assert ["body", "events", 50, "recipient"] in [e["loc"] for e in refused.json()["detail"]]
    assert await ledger.history("user0@example.com") == []
    response = await client.post(
        f"{API}/events/import", json={"events": rows, "source_id": "crm"}, headers=admin
    )
    assert response.status_code == 201 and response.json()["imported"] == 50
    history = await ledger.history("user7@example.com")
    assert [(e.method, e.source_id) for e in history] == [("import", "crm-7")]


async def test_a_subject_shows_its_state_and_history(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger
) -> None:
    await ledger.record(ANN, ["open_tracking"], "granted", method="page", language="fr")
    await ledger.record(ANN, ["open_tracking"], "withdrawn", method="page")
    response = await client.get(f"{API}/subjects/ANN@example.com", headers=admin)
    assert response.status_code == 200
    data = response.json()
    assert data["address"] == ANN
    assert data["state"]["open_tracking"]["status"] == "withdrawn"
    assert [e["state"] for e in data["history"]] == ["granted", "withdrawn"]


async def test_export_then_erase_then_export_is_empty_but_the_refusal_survives(
    client: httpx.AsyncClient, admin: dict[str, str], ledger: Ledger, services: WebServices
) -> None:
    await ledger.record(ANN, ["open_tracking", "click_tracking"], "granted", method="page")
    await ledger.record(ANN, ["open_tracking"], "objected", method="page")
    before = (await client.get(f"{API}/subjects/{ANN}/export", headers=admin)).json()
    assert before["schema_version"] == 1 and len(before["events"]) == 3
    html = await client.get(f"{API}/subjects/{ANN}/export?format=html", headers=admin)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<table" in html.text and "objected" in html.text and "<script" not in html.text

    receipt = (await client.post(f"{API}/subjects/{ANN}/erase", headers=admin)).json()
    assert receipt["events_deleted"] == 3
    assert receipt["address_hash"] == ledger.address_hash(ANN)
    assert {(s["purpose"], s["state"]) for s in receipt["suppressed"]} == {
        ("open_tracking", "objected")
    }

    after = (await client.get(f"{API}/subjects/{ANN}/export", headers=admin)).json()
    assert after["events"] == [] and after["suppressed"] is True
    assert ANN not in str(await ledger.history(ANN))
    states = await ledger.states([ANN])
    assert states[ANN].of("open_tracking").status.value == "objected"
    assert not states[ANN].granted("click_tracking")
    decision = await services.policy.decide("news@shop.example", ANN)
    assert decision.treatment.action.value == "strip"


async def test_policy_reload_reports_success_and_keeps_the_running_policy_on_error(
    client: httpx.AsyncClient, admin: dict[str, str], services: WebServices, policy_file: Path
) -> None:
    version = services.policy.version
    policy_file.write_text(POLICY.replace("web tests", "web tests, edited"))
    ok = await client.post(f"{API}/policy/reload", headers=admin)
    assert ok.status_code == 200 and ok.json()["reloaded"] is True
    assert ok.json()["version"] != version
    policy_file.write_text("this is = = not toml")
    kept = await client.post(f"{API}/policy/reload", headers=admin)
    assert kept.status_code == 409
    assert kept.json()["version"] == ok.json()["version"] and kept.json()["problems"]


async def test_decision_queries_say_clearly_when_no_audit_store_is_configured(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"{API}/decisions", headers=admin)
    assert response.status_code == 501
    assert "audit store" in response.json()["detail"]


async def test_decision_queries_return_the_audit_records_of_a_period(
    client: httpx.AsyncClient, admin: dict[str, str], services: WebServices, ledger: Ledger
) -> None:
    services.audit = AuditStore(services.db)
    await services.audit.add(
        NewDecision(
            trace_id="t-1",
            message_id_hash=None,
            sender="sales@example.org",
            sender_domain="example.org",
            treatment="strip",
            rule_id="default",
            policy_version=services.policy.version,
            category=None,
            outcome="delivered",
            reply_code="250",
            consent_event_ids="",
            flags={"changed": True},
            recipients=[
                NewRecipient(ledger.address_hash(ANN), "com", "default", "unknown", "unknown")
            ],
            findings=[("mailtrack", "open_pixel", "removed", 1)],
        )
    )
    response = await client.get(
        f"{API}/decisions", params={"since": "2020-01-01T00:00:00+00:00"}, headers=admin
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["flags"]["messages"] == 1 and data["flags"]["changed"] == 1
    assert data["trackers"] == [
        {
            "sender": "sales@example.org",
            "sender_domain": "example.org",
            "vendor": "mailtrack",
            "kind": "open_pixel",
            "action": "removed",
            "count": 1,
        }
    ]
    assert data["outcomes"][0]["outcome"] == "delivered"
    about = await client.get(
        f"{API}/decisions", params={"recipient": "ANN@example.com"}, headers=admin
    )
    assert [r["trace_id"] for r in about.json()["decisions"]] == ["t-1"]
    other = await client.get(
        f"{API}/decisions", params={"recipient": "bob@example.com"}, headers=admin
    )
    assert other.json()["decisions"] == []
    export = (await client.get(f"{API}/subjects/{ANN}/export", headers=admin)).json()
    assert [r["trace_id"] for r in export["decisions"]] == ["t-1"]
    page = await client.get(f"{API}/subjects/{ANN}/export?format=html", headers=admin)
    assert "Delivery decisions about this address (1)" in page.text and "t-1" in page.text
    bad = await client.get(f"{API}/decisions", params={"since": "last tuesday"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]


async def test_the_openapi_document_lists_every_route_and_the_body_schemas(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get(f"{API}/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    paths = {p.replace("{address}", ANN) for p in doc["paths"]}
    assert {url for _, url in ROUTES} <= paths
    schemas = doc["components"]["schemas"]
    assert {"EventIn", "BulkImport", "ImportEvent"} <= set(schemas)
    assert "recipient" in schemas["EventIn"]["required"]
