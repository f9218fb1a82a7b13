"""Recipient pages behind signed links: choices, consent request, "what do you hold", done.

GET only shows (link scanners open every URL in a mail); the buttons POST a form whose CSRF
token is bound to the link (``web/forms.py``). A POST records one ledger event per purpose of
the link, with the evidence: text version and SHA-256 of the statement shown, language, time,
method ``page``, and the IP only when ``[web].store_ip`` is on. A replayed POST records nothing
and lands on the same confirmation page.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from store.state import ConsentState
from store.web_models import FormNonces
from web.forms import FormError, FormFields, FormGuard
from web.languages import LANGUAGES, Locale, negotiate
from web.links import BadToken, LinkClaims
from web.rendering import Renderer
from web.services import WebServices

# form id -> {button value -> ledger state}; "object" is what Sec-GPC puts first.
FORMS = {
    "choices": {"grant": "granted", "withdraw": "withdrawn", "object": "objected"},
    "request": {"grant": "granted", "refuse": "refused", "object": "objected"},
}


PURGE_EVERY = 3600.0  # seconds between purges of expired form nonces


class WrongController(BadToken):
    reason = "controller"


@dataclass(frozen=True)
class Link:
    token: str
    claims: LinkClaims
    lang: str
    gpc: bool


class RecipientPages:
    """Handlers for ``/p/<token>...``; one instance per app."""

    def __init__(self, services: WebServices, renderer: Renderer) -> None:
        self.services = services
        self.renderer = renderer
        config = services.config
        self.guard = FormGuard(config.signing_keys, timedelta(hours=config.form_max_age_hours))
        self.nonces = FormNonces(services.db)
        self._next_purge = 0.0
        self.prefix = urlsplit(config.base_url).path.rstrip("/")

    def routes(self) -> list[Route]:
        return [
            Route("/p/{token}", self.choices, methods=["GET", "POST"]),
            Route("/p/{token}/request", self.request, methods=["GET", "POST"]),
            Route("/p/{token}/data", self.data, methods=["GET"]),
            Route("/p/{token}/done", self.done, methods=["GET"]),
        ]

    def language(self, request: Request) -> str:
        return negotiate(
            request.headers.get("accept-language"),
            request.query_params.get("lang"),
            self.services.config.default_language,
        )

    def _link(self, request: Request, lang: str | None = None) -> Link:
        token = request.path_params["token"]
        claims = self.services.signer.verify(token)
        if claims.controller != self.services.ledger.controller:
            raise WrongController("link of another controller")
        chosen = lang or self.language(request)
        return Link(token, claims, chosen, request.headers.get("sec-gpc", "").strip() == "1")

    def _path(self, link: Link, page: str = "") -> str:
        return f"{self.prefix}/p/{link.token}{'/' + page if page else ''}"

    def _links(self, link: Link) -> dict[str, str]:
        suffix = f"?lang={link.lang}"
        return {
            "choices": self._path(link) + suffix,
            "request": self._path(link, "request") + suffix,
            "data": self._path(link, "data") + suffix,
        }

    async def _statuses(self, link: Link) -> list[tuple[str, str]]:
        state: ConsentState = await self.services.ledger.state(link.claims.recipient)
        return [(p, state.of(p).status.value) for p in link.claims.purposes]

    def statement(self, link: Link, locale: Locale) -> str:
        names = [locale.t(f"short_{p}") for p in link.claims.purposes]
        purposes = locale.t("statement_joiner").join(names)
        return locale.t("statement", controller=link.claims.controller, purposes=purposes)

    def _buttons(self, form_id: str, link: Link, locale: Locale) -> list[dict[str, object]]:
        stop = "refuse" if form_id == "request" else "withdraw"
        if link.gpc:
            return [
                {"choice": "object", "label": locale.t("button_object"), "primary": True},
                {"choice": "grant", "label": locale.t("button_grant"), "primary": False},
            ]
        return [
            {"choice": "grant", "label": locale.t("button_grant"), "primary": False},
            {"choice": stop, "label": locale.t(f"button_{stop}"), "primary": False},
        ]

    async def _show(self, request: Request, form_id: str, template: str) -> Response:
        link = self._link(request)
        locale = self.renderer.locale(link.lang)
        return self.renderer.page(
            template,
            link.lang,
            here=request.url.path,
            address=link.claims.recipient,
            controller=link.claims.controller,
            statuses=await self._statuses(link),
            statement=self.statement(link, locale),
            buttons=self._buttons(form_id, link, locale),
            form=self.guard.issue(link.token, form_id, link.lang),
            action=self._path(link, "" if form_id == "choices" else form_id),
            gpc=link.gpc,
            links=self._links(link),
        )

    async def choices(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._submit(request, "choices")
        return await self._show(request, "choices", "choices.html")

    async def request(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._submit(request, "request")
        return await self._show(request, "request", "request.html")

    def _refuse_form(self, request: Request, link: Link) -> Response:
        return self.renderer.page(
            "error.html", link.lang, status=403, here=request.url.path, reason="form"
        )

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return True  # no Origin, or a privacy-blanked one: the CSRF MAC alone decides
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        base = urlsplit(self.services.config.base_url)
        return origin in (own, f"{base.scheme}://{base.netloc}")

    async def _submit(self, request: Request, form_id: str) -> Response:
        form = await request.form()
        lang = str(form.get("lang", ""))
        link = self._link(request, lang if lang in LANGUAGES else None)
        fields = FormFields(str(form.get("nonce", "")), str(form.get("csrf", "")))
        choice = str(form.get("choice", ""))
        state = FORMS[form_id].get(choice)
        try:
            if state is None or lang not in LANGUAGES or not self._same_origin(request):
                raise FormError("bad choice, language or origin")
            self.guard.check(link.token, form_id, lang, fields)
        except FormError:
            return self._refuse_form(request, link)
        digest = self.guard.digest(link.token, fields, choice)
        await self._purge_nonces()
        if await self.nonces.claim(digest):
            try:
                await self._record(request, link, form_id, choice, state, digest)
            except BaseException:
                await self.nonces.release(digest)
                raise
        done = f"{self._path(link, 'done')}?state={state}&lang={lang}"
        return RedirectResponse(done, status_code=303)

    async def _purge_nonces(self) -> None:
        """At most hourly: forget used nonces of forms that have expired anyway."""
        now = time.monotonic()
        if now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY
            await self.nonces.purge(self.guard.max_age + timedelta(hours=1))

    async def _record(
        self, request: Request, link: Link, form_id: str, choice: str, state: str, digest: str
    ) -> None:
        locale = self.renderer.locale(link.lang)
        text = f"{self.statement(link, locale)}\n[{locale.t(f'button_{choice}')}]"
        evidence = {"form": form_id, "choice": choice, "gpc": link.gpc, "submission": digest}
        client = request.client.host if request.client else None
        await self.services.ledger.record(
            link.claims.recipient,
            list(link.claims.purposes),
            state,
            method="page",
            source_id=f"link:{link.claims.key_id}:{int(link.claims.issued_at.timestamp())}",
            text_version=locale.version,
            text=text,
            language=link.lang,
            policy_version=self.services.policy.version,
            ip=client if self.services.config.store_ip else None,
            evidence=json.dumps(evidence, sort_keys=True),
        )

    async def done(self, request: Request) -> Response:
        link = self._link(request)
        state = request.query_params.get("state", "")
        if state not in {"granted", "withdrawn", "refused", "objected"}:
            return RedirectResponse(self._links(link)["choices"], status_code=303)
        return self.renderer.page(
            "done.html",
            link.lang,
            here=f"{request.url.path}?state={state}",
            state=state,
            statuses=await self._statuses(link),
            links=self._links(link),
        )

    async def data(self, request: Request) -> Response:
        link = self._link(request)
        address = link.claims.recipient
        state = await self.services.ledger.state(address)
        audit = self.services.audit
        decisions = None
        if audit is not None:
            records = await audit.recipient_records(self.services.ledger.address_hash(address))
            decisions = len(records)
        return self.renderer.page(
            "data.html",
            link.lang,
            here=request.url.path,
            address=address,
            statuses=await self._statuses(link),
            events=await self.services.ledger.history(address),
            suppressed=state.suppressed,
            decisions=decisions,
            links=self._links(link),
        )
