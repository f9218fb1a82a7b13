"""``GET /metrics``: the Prometheus text format of one registry, for ``create_app(extra_routes=)``.

Aggregate counts only (no address, no label an outsider could use to track anyone); still,
expose the web listener's ``/metrics`` to the monitoring network only.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def metrics_routes(registry: CollectorRegistry) -> list[Route]:
    """One route serving ``registry`` (e.g. ``MetricsObserver().registry``)."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"], name="metrics")]
