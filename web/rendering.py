"""HTML responses: Jinja2 templates (admin overrides first), texts, and safe headers.

Pages carry no scripts, no remote assets and no cookies; the Content-Security-Policy says so
to the browser as well, and ``Referrer-Policy: same-origin`` keeps the signed link out of
other sites' logs (``no-referrer`` would also blank the ``Origin`` of our own form POSTs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from web.languages import LANGUAGES, Locale, load_locales

PACKAGED = Path(__file__).resolve().parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class Renderer:
    """Renders a named template in one language with the shared page context."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(override_dir)))
        loaders.append(jinja2.FileSystemLoader(str(PACKAGED)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.locales = load_locales(override_dir)

    def locale(self, lang: str) -> Locale:
        return self.locales.get(lang, self.locales["en"])

    def html(self, name: str, lang: str, **context: Any) -> str:
        locale = self.locale(lang)
        values = {
            "lang": locale.code,
            "t": locale.t,
            "languages": [(code, self.locales[code].name) for code in LANGUAGES],
            **context,
        }
        return self.env.get_template(name).render(values)

    def page(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.html(name, lang, **context)
        headers = {**SECURITY_HEADERS, "Content-Language": lang}
        return HTMLResponse(body, status_code=status, headers=headers)
