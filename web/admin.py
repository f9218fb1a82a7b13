"""Admin API under ``/admin/api``: consent events, subjects (state, history, export, erasure),
policy reload and decision queries. Bearer tokens, stored as SHA-256 digests in the config:
401 without a token, 403 with a wrong one. Invalid input is a 422 naming the field.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from store.addresses import AddressError, normalize
from store.events import NewEvent
from store.tracking import TrackingStore
from web.payloads import BulkImport, EventIn
from web.rendering import Renderer
from web.services import WebServices

Handler = Callable[[Request], Awaitable[Response]]
Model = TypeVar("Model", bound=BaseModel)
PREFIX = "/admin/api"


class InvalidInput(Exception):
    """Carries pydantic-style error entries; rendered as a 422."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid input")
        self.errors = errors


def unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


def _entries(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


async def parse(request: Request, model: type[Model]) -> Model:
    """The JSON body validated against ``model``, or :class:`InvalidInput`."""
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        entry = {"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json"}
        raise InvalidInput([entry]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_entries(exc)) from exc


def _address(value: str, loc: list[str]) -> str:
    try:
        return normalize(value)
    except AddressError as exc:
        raise InvalidInput([{"loc": loc, "msg": str(exc), "type": "address"}]) from exc


def subject(request: Request) -> str:
    return _address(request.path_params["address"], ["path", "address"])


class AdminApi:
    """Handlers; every route goes through :meth:`guard`."""

    def __init__(self, services: WebServices, renderer: Renderer) -> None:
        self.services = services
        self.renderer = renderer
        self.digests = [d.strip().lower() for d in services.config.admin_tokens]

    def routes(self) -> list[Route]:
        table: list[tuple[str, Handler, str]] = [
            ("/events", self.record, "POST"),
            ("/events/import", self.import_events, "POST"),
            ("/subjects/{address}", self.show_subject, "GET"),
            ("/subjects/{address}/export", self.export, "GET"),
            ("/subjects/{address}/erase", self.erase, "POST"),
            ("/policy/reload", self.reload_policy, "POST"),
            ("/decisions", self.decisions, "GET"),
        ]
        return [Route(PREFIX + path, self.guard(h), methods=[m]) for path, h, m in table]

    def actor(self, request: Request) -> str | None:
        """``admin:<first 12 hex of the token digest>``, or None without a valid token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        matched = False
        for known in self.digests:
            matched |= hmac.compare_digest(digest, known)
        return f"admin:{digest[:12]}" if matched else ""

    def guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            actor = self.actor(request)
            if actor is None:
                return JSONResponse(
                    {"detail": "bearer token required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="consent-relay admin"'},
                )
            if not actor:
                return JSONResponse({"detail": "token not accepted"}, status_code=403)
            request.state.actor = actor
            try:
                return await handler(request)
            except InvalidInput as exc:
                return unprocessable(exc.errors)

        guarded.__doc__ = handler.__doc__
        return guarded

    async def record(self, request: Request) -> Response:
        """Record one consent event (one ledger row per purpose). Returns the new ids."""
        body = await parse(request, EventIn)
        ids = await self.services.ledger.record(
            body.recipient,
            body.purposes,
            body.state,
            method=body.method,
            source_id=body.source_id,
            text_version=body.text_version,
            text=body.text,
            language=body.language,
            policy_version=self.services.policy.version,
            expires_at=body.expires_at,
            actor=body.actor or request.state.actor,
            occurred_at=body.occurred_at,
        )
        return JSONResponse({"ids": ids}, status_code=201)

    async def import_events(self, request: Request) -> Response:
        """Bulk import (method ``import``): every row in one transaction, or none."""
        body = await parse(request, BulkImport)
        controller = self.services.ledger.controller
        actor = body.actor or request.state.actor
        events = [
            NewEvent(
                recipient=row.recipient,
                purpose=purpose,
                state=row.state,
                method="import",
                occurred_at=row.occurred_at,
                controller=controller,
                source_id=row.source_id or body.source_id,
                text_version=row.text_version,
                text_hash=row.text_hash,
                language=row.language,
                expires_at=row.expires_at,
                actor=actor,
            )
            for row in body.events
            for purpose in row.purposes
        ]
        count = await self.services.ledger.insert_many(events)
        return JSONResponse({"imported": count, "subjects": len(body.events)}, status_code=201)

    async def show_subject(self, request: Request) -> Response:
        """Current state per purpose and the full event history of one address."""
        address = subject(request)
        state = await self.services.ledger.state(address)
        history = await self.services.ledger.history(address)
        return JSONResponse(
            {
                "address": address,
                "controller": self.services.ledger.controller,
                "state": {p: _purpose(s) for p, s in sorted(state.purposes.items())},
                "suppressed": state.suppressed,
                "history": [e.as_json() for e in history],
            }
        )

    async def export(self, request: Request) -> Response:
        """Everything held about an address (JSON with ``schema_version``; ``?format=html``)."""
        address = subject(request)
        data = await self.services.ledger.export(address)
        if self.services.audit is not None:
            digest = self.services.ledger.address_hash(address)
            data["decisions"] = _jsonable(await self.services.audit.recipient_records(digest))
        data["tracking"] = _jsonable(await TrackingStore(self.services.db).export(address))
        if request.query_params.get("format") == "html":
            return self.renderer.page("export.html", "en", here=request.url.path, export=data)
        return JSONResponse(data, headers={"Content-Disposition": "inline"})

    async def erase(self, request: Request) -> Response:
        """Erase an address: events deleted, refusals kept as a keyed hash. Returns a receipt."""
        address = subject(request)
        receipt = await self.services.ledger.erase(address)
        erased_at = receipt.erased_at or datetime.now(UTC)
        eraser = getattr(self.services.audit, "erase_recipient", None)
        audit_removed = await eraser(receipt.address_hash, address) if eraser else None
        tracking_removed = await TrackingStore(self.services.db).erase(address)
        return JSONResponse(
            {
                "address_hash": receipt.address_hash,
                "events_deleted": receipt.events_deleted,
                "suppressed": [
                    {"controller": c, "purpose": p, "state": s} for c, p, s in receipt.suppressed
                ],
                "audit_references_removed": audit_removed,
                "tracking_events_removed": tracking_removed,
                "erased_at": erased_at.isoformat(),
                "actor": request.state.actor,
            }
        )

    async def reload_policy(self, request: Request) -> Response:
        """Reload the policy file; a broken file keeps the running policy (409 with problems)."""
        policy = self.services.policy
        if policy.reload():
            return JSONResponse({"reloaded": True, "version": policy.version})
        error = policy.last_error
        problems = [str(p) for p in getattr(error, "problems", [])] or [str(error)]
        body = {"reloaded": False, "version": policy.version, "problems": problems}
        return JSONResponse(body, status_code=409)

    async def decisions(self, request: Request) -> Response:
        """Decision records: about one ``?recipient=``, or a period's aggregates (``?since=``,
        ``?until=``, ISO 8601; default the last 7 days)."""
        audit = self.services.audit
        if audit is None:
            detail = "decision queries need the audit store; none is configured"
            return JSONResponse({"detail": detail}, status_code=501)
        recipient = request.query_params.get("recipient")
        if recipient is not None:
            address = _address(recipient, ["query", "recipient"])
            records = await audit.recipient_records(self.services.ledger.address_hash(address))
            return JSONResponse(_jsonable({"recipient": address, "decisions": records}))
        until = _when(request, "until") or datetime.now(UTC)
        since = _when(request, "since") or until - timedelta(days=7)
        window = await audit.window(since, until)
        summary = {
            "since": since,
            "until": until,
            "flags": window.flags,
            "outcomes": _rows(window.outcomes, OUTCOME),
            "trackers": _rows(window.findings, FINDING),
            "coverage": _rows(window.coverage, COVERAGE),
            "flagged": window.flagged,
            "reloads": _rows(window.reloads, RELOAD),
        }
        return JSONResponse(_jsonable(summary))


OUTCOME = ("treatment", "outcome", "messages", "recipients")
FINDING = ("sender", "sender_domain", "vendor", "kind", "action", "count")
COVERAGE = ("tld", "open_status", "click_status", "recipients")
RELOAD = ("time", "event", "version", "detail")


def _rows(rows: Sequence[Sequence[Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _when(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "+"))  # an unescaped "+" arrives as " "
    except ValueError as exc:
        entry = {"loc": ["query", name], "msg": f"not an ISO 8601 time: {exc}", "type": "datetime"}
        raise InvalidInput([entry]) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _purpose(state: Any) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "since": state.since.isoformat() if state.since else None,
        "event_id": state.event_id,
        "expires_at": state.expires_at.isoformat() if state.expires_at else None,
    }
