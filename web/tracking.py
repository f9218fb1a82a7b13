"""``GET /t/<token>``: consent re-checked at the moment of the open or the click (issue 6).

Open pixel, consent valid: tell the vendor (``mode = "fetch"``: the relay requests the pixel
itself, with no client header, cookie or address of the recipient; ``"redirect"``: 302 to it) and
answer a 1x1 GIF. Consent gone: the GIF, and nobody is contacted. Click, consent valid: 302 to
the original tracked URL. Consent gone: 302 straight to the real destination when the wrapper
decodes offline (``rewriters.knowledge``), otherwise a short page (no script, no remote asset)
saying the link passes through a tracker, with a link to continue. Every answer is
``Cache-Control: no-store``. Consent comes from :class:`store.cache.ConsentCache` (fail closed:
an unreachable store means no consent). Measurement per ``[tracking] measurement`` goes to
:class:`store.tracking.TrackingBuffer`; prefetchers count as machines, never as people.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import urlsplit

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from rewriters.treatment import Purpose
from store.addresses import AddressError
from store.cache import ConsentCache
from store.db import Database
from store.tracking import TrackingBuffer, TrackingStore
from web.languages import negotiate
from web.routing import BadRouteToken, RouteClaims, RouteSigner, decode_destination
from web.tracking_config import Prefetchers, TrackingConfig
from web.vendorfetch import fetch_vendor, vendor_client

log = logging.getLogger("consent_relay.web")
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
# title, why, what continuing means, button; {host} is the tracker's host name
PAGE_TEXT: dict[str, tuple[str, str, str, str]] = {
    language: (texts["title"], texts["why"], texts["then"], texts["button"])
    for language, texts in tomllib.loads(
        resources.files("web").joinpath("data/interstitial.toml").read_text("utf-8")
    ).items()
}


@dataclass
class TrackingServices:
    """Everything ``/t/`` needs; build with :meth:`create`, then ``start()`` and ``close()``."""

    signer: RouteSigner
    cache: ConsentCache
    config: TrackingConfig
    http: httpx.AsyncClient
    prefetchers: Prefetchers
    buffer: TrackingBuffer | None = None
    stats: Counter[str] = field(default_factory=Counter)
    owns_http: bool = False
    pending: int = 0  # vendor fetches running or waiting for a slot
    _gate: asyncio.Semaphore | None = None
    _flusher: asyncio.Task[None] | None = None

    @classmethod
    def create(
        cls,
        signer: RouteSigner,
        cache: ConsentCache,
        db: Database | None,
        config: TrackingConfig,
        http: httpx.AsyncClient | None = None,
    ) -> TrackingServices:
        """``db`` may be None only with ``measurement = "none"``; ``http`` defaults to ours."""
        buffer = None
        if config.measurement != "none":
            if db is None:
                raise ValueError("measurement needs a database")
            buffer = TrackingBuffer(TrackingStore(db), config.buffer_limit)
        return cls(
            signer=signer,
            cache=cache,
            config=config,
            http=http or vendor_client(config),
            prefetchers=Prefetchers.load(config.prefetchers_file),
            buffer=buffer,
            owns_http=http is None,
        )

    @property
    def gate(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.config.fetch_concurrency)
        return self._gate

    async def start(self) -> None:
        """Start the periodic counter flush (call once, on the serving loop)."""
        if self.buffer is not None and self._flusher is None:
            self._flusher = asyncio.create_task(self.buffer.run(self.config.flush_interval))

    async def close(self) -> None:
        """Stop flushing (writing what is buffered) and close our HTTP client."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self.buffer is not None:
            await self.buffer.flush()
        if self.owns_http:
            await self.http.aclose()


def tracking_routes(services: TrackingServices) -> list[Route]:
    """``GET /t/{token}`` (HEAD too); mount with ``services.extra_routes`` of ``web/app.py``."""

    async def endpoint(request: Request) -> Response:
        return await handle(services, request)

    return [Route("/t/{token}", endpoint, methods=["GET"], name="tracking")]


async def handle(services: TrackingServices, request: Request) -> Response:
    try:
        claims = services.signer.verify(request.path_params["token"])
    except BadRouteToken as exc:
        services.stats[f"token_{exc.reason}"] += 1
        return Response("Not found\n", 404, headers=NO_STORE, media_type="text/plain")
    try:
        state = await services.cache.lookup(claims.recipient)
        granted = state.granted(claims.purpose.value)
    except AddressError:
        granted = False
    client = request.client.host if request.client else None
    machine = request.method == "HEAD" or (
        services.prefetchers.classify(request.headers.get("user-agent"), client) is not None
    )
    measure(services, claims, granted, machine, datetime.now(UTC))
    if claims.purpose is Purpose.OPEN_TRACKING:
        return pixel(services, claims, granted, machine, request.method == "HEAD")
    return click(services, claims, granted, request)


def measure(
    services: TrackingServices, claims: RouteClaims, granted: bool, machine: bool, now: datetime
) -> None:
    """Record the hit as ``[tracking] measurement`` says (in memory; flushed later)."""
    buffer = services.buffer
    services.stats[f"{claims.purpose.value}_{'granted' if granted else 'blocked'}"] += 1
    if buffer is None:
        return
    purpose = claims.purpose.value
    mode = services.config.measurement
    if mode == "deliverability":
        if not machine:
            buffer.last_open(claims.recipient, now.date())
        return
    ref = claims.message_ref[:64] if granted else ""
    buffer.count(now.date(), ref, purpose, "machine" if machine else "person")
    if mode == "identified" and granted and not machine:
        at = now.replace(second=0, microsecond=0)
        buffer.event(claims.recipient, claims.message_ref[:64], purpose, at)


def pixel(
    services: TrackingServices, claims: RouteClaims, granted: bool, machine: bool, head: bool
) -> Response:
    if granted and services.config.mode == "redirect":
        return RedirectResponse(claims.url, 302, headers=NO_STORE)
    task = None
    if granted and not head and (services.config.forward_machine_opens or not machine):
        task = BackgroundTask(fetch_vendor, services, claims.url)
    return Response(GIF, 200, headers=NO_STORE, media_type="image/gif", background=task)


def click(
    services: TrackingServices, claims: RouteClaims, granted: bool, request: Request
) -> Response:
    if granted:
        return RedirectResponse(claims.url, 302, headers=NO_STORE)
    destination = decode_destination(claims.url)
    if destination is not None:
        services.stats["click_unwrapped"] += 1
        return RedirectResponse(destination, 302, headers=NO_STORE)
    services.stats["click_interstitial"] += 1
    language = negotiate(request.headers.get("accept-language"), None)
    headers = {**PAGE_HEADERS, "Content-Language": language, "Vary": "Accept-Language"}
    return HTMLResponse(interstitial(claims.url, language), 200, headers=headers)


def interstitial(url: str, language: str = "en") -> str:
    """A plain page: no script, no remote asset, one link onwards (which the tracker sees)."""
    title, why, then, button = PAGE_TEXT.get(language, PAGE_TEXT["en"])
    host = f"<strong>{html.escape(urlsplit(url).hostname or '?')}</strong>"
    href = html.escape(url, quote=True)
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>"
        "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;"
        "padding:0 1rem;color:#222}a.go{display:inline-block;padding:.6rem 1rem;"
        "border:1px solid #444;border-radius:4px;color:#222;text-decoration:none}"
        f"</style></head><body><h1>{title}</h1><p>{why.format(host=host)}</p>"
        f"<p>{then.format(host=host)}</p>"
        f'<p><a class="go" href="{href}" rel="noreferrer noopener">{button.format(host=host)}</a>'
        "</p></body></html>"
    )
