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
import ipaddress
import logging
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from importlib import resources
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from web.routing import BadRouteToken, RouteClaims, RouteSigner, decode_destination, web_url
from web.tracking_config import Prefetchers, TrackingConfig

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
MAX_REDIRECTS = 3
# title, why, what continuing means, button; {host} is the tracker's host name
PAGE_TEXT: dict[str, tuple[str, str, str, str]] = {
    language: (texts["title"], texts["why"], texts["then"], texts["button"])
    for language, texts in tomllib.loads(
        resources.files("web").joinpath("data/interstitial.toml").read_text("utf-8")
    ).items()
}


class FetchRefused(Exception):
    """A vendor URL the relay will not request (private address, bad redirect)."""


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


def vendor_client(config: TrackingConfig) -> httpx.AsyncClient:
    """The vendor-facing client: our User-Agent only, a cookie jar that keeps nothing, no
    proxy or ``.netrc`` from the environment, redirects followed by hand (each hop checked)."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        headers={"User-Agent": config.user_agent, "Accept": "image/*,*/*;q=0.5"},
        cookies=jar,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(config.fetch_timeout),
        limits=httpx.Limits(max_connections=config.fetch_concurrency),
    )


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


async def fetch_vendor(services: TrackingServices, url: str) -> int | None:
    """Tell the vendor about a consented open; the status code, or ``None`` if it failed.

    At most ``fetch_concurrency`` run at once and as many again wait; beyond that the vendor is
    not told (counted as ``vendor_fetch_dropped``): a slow vendor must not pile up work here.
    """
    if services.pending >= 2 * services.config.fetch_concurrency:
        services.stats["vendor_fetch_dropped"] += 1
        return None
    services.pending += 1
    try:
        async with services.gate:
            timeout = services.config.fetch_timeout
            status = await asyncio.wait_for(_fetch(services, url), timeout)
    except Exception as exc:  # a vendor's failure never reaches the recipient
        services.stats["vendor_fetch_failed"] += 1
        log.info(
            "vendor_fetch_failed",
            extra={"event": "vendor_fetch_failed", "reason": type(exc).__name__},
        )
        return None
    finally:
        services.pending -= 1
    services.stats["vendor_fetched"] += 1
    return status


async def _fetch(services: TrackingServices, url: str) -> int:
    for _ in range(MAX_REDIRECTS + 1):
        if not services.config.fetch_private_addresses:
            await _check_public(url)
        async with services.http.stream("GET", url) as response:
            await _drain(response, services.config.fetch_max_bytes)
            location = response.headers.get("location")
            if not (response.is_redirect and location):
                return response.status_code
        try:
            url = web_url(urljoin(url, location))
        except ValueError as exc:
            raise FetchRefused("redirect to a non-web URL") from exc
    raise FetchRefused("too many redirects")


async def _drain(response: httpx.Response, limit: int) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= limit:
            break


async def _check_public(url: str) -> None:
    """Refuse hosts that resolve to loopback, private, link-local or other non-global space."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    infos: list[Any] = await loop.getaddrinfo(host, port, type=0)
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise FetchRefused(f"{host} is not a public address")


EMBEDDING_V4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


def _public(address: str) -> bool:
    """Global, and not an IPv6 form that embeds an IPv4 address (IPv4-compatible, NAT64)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in EMBEDDING_V4):
        return False
    return ip.is_global
