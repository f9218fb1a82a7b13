"""``GET /metrics``: the Prometheus text format of one registry, for ``create_app(extra_routes=)``.

Aggregate counts only (no address is ever a label). Expose the listener's ``/metrics`` to the
monitoring network only, or pass ``token_digests`` (SHA-256 hex of bearer tokens, the form of
``[web] admin_tokens``) so a scraper must send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def _authorised(request: Request, digests: Collection[str]) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    digest = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
    return any(hmac.compare_digest(digest, known.lower()) for known in digests)


def metrics_routes(
    registry: CollectorRegistry, token_digests: Collection[str] = ()
) -> list[Route]:
    """One route serving ``registry`` (e.g. ``MetricsObserver().registry``)."""

    async def metrics(request: Request) -> Response:
        if token_digests and not _authorised(request, token_digests):
            return PlainTextResponse(
                "authorization required\n", 401, {"WWW-Authenticate": "Bearer"}
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"], name="metrics")]
