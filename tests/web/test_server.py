"""Health endpoint and the embedded uvicorn server on the test's own event loop."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from web_harness import BASE_URL, make_services, web_config

from store.db import Database
from store.ledger import Ledger
from web.app import create_app
from web.server import split_listen, start_web
from web.services import WebServices


async def test_health_is_200_with_the_policy_version_when_store_and_policy_are_fine(
    client: httpx.AsyncClient, services: WebServices
) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["process"] == "up" and body["store"] == "reachable"
    assert body["policy"] == {"loaded": True, "version": services.policy.version}


async def test_health_is_503_when_the_store_cannot_be_reached(
    tmp_path: Path, ledger: Ledger, policy_file: Path
) -> None:
    gone = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    services = make_services(web_config(), gone, ledger, policy_file)
    services.db = gone
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get("/healthz")
    await gone.dispose()
    assert response.status_code == 503
    assert response.json()["store"] == "unreachable"


async def test_the_server_runs_on_this_loop_serves_http_and_leaves_signals_alone(
    services: WebServices,
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    handle = await start_web(create_app(services), "127.0.0.1:0")
    try:
        assert handle.port > 0
        during = {s: signal.getsignal(s) for s in before}
        assert during == before
        async with httpx.AsyncClient(base_url=handle.url) as http:
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await handle.stop()
    assert handle.task.done()
    assert {s: signal.getsignal(s) for s in before} == before


async def test_extra_routes_from_other_packages_are_served(services: WebServices) -> None:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def metrics(request: object) -> PlainTextResponse:
        return PlainTextResponse("up 1\n")

    services.extra_routes.append(Route("/metrics", metrics))
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        assert (await http.get("/metrics")).text == "up 1\n"


def test_listen_addresses_split_into_host_and_port() -> None:
    assert split_listen("127.0.0.1:8025") == ("127.0.0.1", 8025)
    assert split_listen("[::1]:0") == ("::1", 0)
    assert split_listen(":8080") == ("127.0.0.1", 8080)
