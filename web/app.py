"""The ASGI application: recipient pages, admin API, health, plus contributed routes."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from web.admin import PREFIX, AdminApi
from web.links import BadToken
from web.openapi import document
from web.pages import RecipientPages
from web.rendering import Renderer
from web.services import WebServices

log = logging.getLogger("consent_relay.web")
DEFAULT_KEY = "change-me-signing-key"


def create_app(services: WebServices) -> Starlette:
    """Build the app once at start-up; it holds no state beyond ``services``."""
    if DEFAULT_KEY in services.config.signing_keys:
        log.warning(
            "web_default_signing_key",
            extra={"event": "web_default_signing_key", "hint": "set [web].signing_keys"},
        )
    if not services.config.admin_tokens:
        log.info("admin_api_disabled", extra={"event": "admin_api_disabled"})
    renderer = Renderer(services.config.templates_dir)
    pages = RecipientPages(services, renderer)
    admin = AdminApi(services, renderer)
    schema = document()

    async def healthz(request: Request) -> Response:
        """Process up, store reachable, policy loaded: 200, else 503."""
        store = await services.db.ping()
        version = getattr(services.policy, "version", None)
        healthy = store and bool(version)
        body = {
            "status": "ok" if healthy else "unavailable",
            "process": "up",
            "store": "reachable" if store else "unreachable",
            "policy": {"loaded": bool(version), "version": version},
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(schema)

    async def bad_link(request: Request, exc: Exception) -> Response:
        reason = exc.reason if isinstance(exc, BadToken) else "malformed"
        lang = pages.language(request)
        return renderer.page("error.html", lang, 400, here=request.url.path, reason=reason)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]),
        *pages.routes(),
        *admin.routes(),
        *services.extra_routes,
    ]
    return Starlette(routes=routes, exception_handlers={BadToken: bad_link})
