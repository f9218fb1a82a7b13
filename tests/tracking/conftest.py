"""Tracking fixtures: a real vendor HTTP server on 127.0.0.1, a real SQLite store, the real app.

The vendor server records every request it gets (method, path, headers, client address), so
tests can say exactly what a tracking vendor learned. Requests reach ``/t/`` in-process through
httpx's ASGI transport with a recipient-like client address and headers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.routing import RouteSigner
from web.tracking import GIF, TrackingServices, tracking_routes
from web.tracking_config import TrackingConfig

BASE_URL = "https://relay.test"
CLIENT_IP = "203.0.113.7"
BROWSER = {
    "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
    "Accept-Language": "fr-FR,fr;q=0.9",
    "Cookie": "session=recipient-secret",
    "X-Forwarded-For": CLIENT_IP,
    "Referer": "https://webmail.example.net/inbox",
}
DESTINATION = "https://shop.example.com/cart"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    client: str


@dataclass
class Vendor:
    """A tracking vendor on 127.0.0.1 with Amazon SES custom-domain paths (decodable clicks)."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pixel(self, tag: str = "0100018c1a2b3c4d") -> str:
        return f"{self.base}/CI0/{tag}/AbC=12"

    def click(self, tag: str = "0100018c1a2b") -> str:
        return f"{self.base}/CL0/https:%2F%2Fshop.example.com%2Fcart/1/{tag}/AbC=12"

    def opaque_click(self) -> str:
        return f"{self.base}/ss/c/AbCdEf12GhIjKl/3xk/Gh12Ij34"


def _handler(vendor: Vendor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            vendor.seen.append(Seen("GET", self.path, headers, self.client_address[0]))
            if self.path.startswith("/slow"):
                time.sleep(0.5)
            if self.path.startswith("/hop"):
                self.send_response(302)
                self.send_header("Location", "/CI0/after-hop/AbC=12")
                self.end_headers()
                return
            try:
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Set-Cookie", "vendor_id=v-123; Path=/")
                self.send_header("Content-Length", str(len(GIF)))
                self.end_headers()
                self.wfile.write(GIF)
            except (BrokenPipeError, ConnectionResetError):
                return  # the relay gave up waiting (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    vendor = Vendor()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(vendor))
    vendor.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield vendor
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}")
    await database.upgrade("heads")
    yield database
    await database.dispose()


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return Ledger(db, "test-hash-key", "default")


@pytest.fixture
def cache(ledger: Ledger) -> ConsentCache:
    return ConsentCache(ledger, ttl_seconds=30)


@pytest.fixture
def signer() -> RouteSigner:
    return RouteSigner(["key-2026-b", "key-2026-a"], BASE_URL)


@dataclass
class Site:
    """The ``/t/`` routes served in-process, and a client that looks like a recipient's."""

    services: TrackingServices
    client: httpx.AsyncClient

    async def get(self, url: str, **headers: str) -> httpx.Response:
        return await self.client.get(url, headers={**BROWSER, **headers})


@pytest.fixture
async def site(
    signer: RouteSigner, cache: ConsentCache, db: Database
) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    opened: list[Site] = []

    async def make(**settings: Any) -> Site:
        config = TrackingConfig.model_validate({"fetch_private_addresses": True, **settings})
        services = TrackingServices.create(signer, cache, db, config)
        app = Starlette(routes=tracking_routes(services))
        transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 40123))
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        opened.append(Site(services, client))
        return opened[-1]

    yield make
    for item in opened:
        await item.client.aclose()
        await item.services.close()


@pytest.fixture
def grant(ledger: Ledger) -> Callable[..., Awaitable[None]]:
    """``await grant(address, *purposes)`` (default: both) records consent as an admin would."""

    async def record(recipient: str, *purposes: str, state: str = "granted") -> None:
        chosen = list(purposes) or ["open_tracking", "click_tracking"]
        await ledger.record(recipient, chosen, state, method="admin")

    return record
