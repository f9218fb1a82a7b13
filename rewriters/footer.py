"""The disclosure footer added under ``disclose``: what is tracked, by whom, since when, and how
to stop it.

Templates are plain text with ``$purposes``, ``$vendors``, ``$since`` and ``$stop_url``
(``string.Template``, so an admin's template cannot run code or reach attributes). The shipped
ones are read once at import; an admin template reaches us as text through
``RewriteContext.footer_text`` because reading a file is I/O. A line whose value is missing (no
stop URL) is dropped rather than shown half-empty. The footer is inserted after scanning, so it
is never tracked or routed.
"""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime
from importlib import resources
from string import Template

LANGUAGES = ("en", "fr", "de", "it", "es", "nl")
PURPOSE_WORDS = {
    "en": ("opens", "clicks", "and"),
    "fr": ("ouvertures", "clics", "et"),
    "de": ("Öffnungen", "Klicks", "und"),
    "it": ("aperture", "clic", "e"),
    "es": ("aperturas", "clics", "y"),
    "nl": ("openingen", "klikken", "en"),
}


def _load() -> dict[str, str]:
    folder = resources.files("rewriters").joinpath("templates")
    return {lang: folder.joinpath(f"footer.{lang}.txt").read_text("utf-8") for lang in LANGUAGES}


TEMPLATES = _load()


def lines(template: str | None, language: str, vendors: list[str], purposes: list[str],
          since: datetime | None, stop_url: str | None) -> list[str]:
    """The footer as plain lines in ``language`` (English when the language is not shipped)."""
    lang = language if language in TEMPLATES else "en"
    opens, clicks, and_word = PURPOSE_WORDS[lang]
    words = [opens if p == "open_tracking" else clicks for p in purposes] or [opens]
    values = {
        "purposes": f" {and_word} ".join(words),
        "vendors": ", ".join(vendors),
        "since": since.date().isoformat() if since is not None else "-",
        "stop_url": stop_url or "",
    }
    out = []
    for line in (template or TEMPLATES[lang]).splitlines():
        if "$stop_url" in line and not stop_url:
            continue
        text = Template(line).safe_substitute(values).strip()
        if text:
            out.append(text)
    return out


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def as_text(footer: list[str], eol: str, ascii_only: bool) -> str:
    """Plain-text footer block, set off from the body by a blank line."""
    body = eol.join(_ascii(line) if ascii_only else line for line in footer)
    return eol + eol + body + eol


def as_html(footer: list[str], stop_url: str | None, eol: str, ascii_only: bool) -> str:
    """HTML footer block; the stop URL becomes a link, everything else is escaped text."""
    rendered = []
    for line in footer:
        escaped = html.escape(line, quote=False)
        if stop_url:
            link = f'<a href="{html.escape(stop_url)}">{html.escape(stop_url, quote=False)}</a>'
            escaped = escaped.replace(html.escape(stop_url, quote=False), link)
        if ascii_only:
            escaped = escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")
        rendered.append(escaped)
    style = "margin-top:16px;font-size:12px;color:#666666"
    return f'{eol}<div style="{style}">' + "<br>".join(rendered) + "</div>" + eol


def html_insert_at(text: str) -> int:
    """Before the last ``</body>``, else at the end."""
    at = text.lower().rfind("</body")
    return at if at >= 0 else len(text)
