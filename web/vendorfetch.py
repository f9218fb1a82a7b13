"""Requests to tracking vendors on a recipient's behalf (``fetch`` mode), made safe.

The relay, not the recipient's mail client, tells the vendor about a consented open, so the
vendor never sees the recipient's IP address or device. The request must not become a way
into the relay's own network: every hop's host must resolve to public addresses only (and the
connection goes to one of exactly those, see :func:`pinned`), the
vendor gets our User-Agent and no cookies, redirects are followed by hand and at most
``MAX_REDIRECTS`` times, the body is drained up to a limit, and a slow vendor cannot pile up
work (at most twice ``fetch_concurrency`` requests wait or run).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from web.routing import web_url
from web.tracking_config import TrackingConfig

if TYPE_CHECKING:
    from web.tracking import TrackingServices

log = logging.getLogger("consent_relay.web")
MAX_REDIRECTS = 3


class FetchRefused(Exception):
    """A vendor URL the relay will not request (private address, bad redirect)."""


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
        target, options = url, dict[str, Any]()
        if not services.config.fetch_private_addresses:
            target, options = await pinned(url)
        async with services.http.stream("GET", target, **options) as response:
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


async def pinned(url: str) -> tuple[str, dict[str, Any]]:
    """``url`` with its host replaced by one of the addresses just checked, plus the ``Host``
    header and TLS server name of the real host.

    Resolving once and connecting to what was checked closes the DNS-rebinding gap: a
    resolver that answers with a public address for the check and 127.0.0.1 for the
    connection gets no second question. Certificates are still verified for the real name.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = httpx.URL(url).raw_host.decode("ascii")  # an IDN host in its A-label form
    infos: list[Any] = await asyncio.get_running_loop().getaddrinfo(host, port, type=0)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or not all(_public(a) for a in addresses):
        raise FetchRefused(f"{host} is not a public address")
    return pin_to(url, addresses[0])


def pin_to(url: str, address: str) -> tuple[str, dict[str, Any]]:
    """``url`` aimed at ``address``, with the ``Host`` header and TLS name of its real host."""
    parts = urlsplit(url)
    host = httpx.URL(url).raw_host.decode("ascii")
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    name = f"[{host}]" if ":" in host else host
    options = {"headers": {"Host": name if parts.port is None else f"{name}:{parts.port}"},
               "extensions": {"sni_hostname": host}}
    return parts._replace(netloc=netloc).geturl(), options


EMBEDDING_V4 = tuple(ipaddress.ip_network(net) for net in (
    "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16",  # compatible, NAT64, 6to4
))


def _public(address: str) -> bool:
    """Global, and not an IPv6 form that embeds an IPv4 address (IPv4-compatible, NAT64,
    6to4): through a gateway such a form can reach a private IPv4 address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in net for net in EMBEDDING_V4):
        return False
    return ip.is_global
