"""Page texts per language (``web/locales/<lang>.toml``) and ``Accept-Language`` negotiation.

Each locale file has a ``version`` (recorded as the consent text version in the ledger) and a
``[text]`` table. An admin may put ``locales/<lang>.toml`` under ``[web].templates_dir`` to
override single texts; the recorded version then gains ``+custom-<hash>`` unless the override
sets its own ``version``, so the evidence always names the words actually shown.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("en", "fr", "de", "it", "es", "nl")
PACKAGED = Path(__file__).resolve().parent / "locales"


@dataclass(frozen=True)
class Locale:
    code: str
    version: str
    texts: dict[str, str]

    @property
    def name(self) -> str:
        return self.texts.get("language_name", self.code)

    def t(self, key: str, **values: str) -> str:
        """The text for ``key`` with ``{placeholders}`` filled; the key itself if missing."""
        text = self.texts.get(key, key)
        return text.format(**values) if values else text


def _read(path: Path) -> tuple[str | None, dict[str, str]]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    texts = {str(k): str(v) for k, v in data.get("text", {}).items()}
    version = data.get("version")
    return (str(version) if version is not None else None), texts


def load_locales(override_dir: Path | None = None) -> dict[str, Locale]:
    """Every supported language, with admin overrides merged over the packaged texts."""
    english_version, english = _read(PACKAGED / "en.toml")
    locales: dict[str, Locale] = {}
    for code in LANGUAGES:
        version, texts = _read(PACKAGED / f"{code}.toml")
        merged = {**english, **texts}
        version = version or english_version or "1"
        custom = override_dir / "locales" / f"{code}.toml" if override_dir else None
        if custom is not None and custom.is_file():
            own_version, own = _read(custom)
            merged.update(own)
            digest = hashlib.sha256(custom.read_bytes()).hexdigest()[:8]
            version = own_version or f"{version}+custom-{digest}"
        locales[code] = Locale(code, version, merged)
    return locales


def _ranges(header: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag:
            ranked.append((-quality, position, tag.strip().lower()))
    return sorted(ranked)


def negotiate(accept_language: str | None, explicit: str | None, default: str = "en") -> str:
    """``?lang=`` if supported, else the best ``Accept-Language`` match, else ``default``."""
    if explicit and explicit.lower() in LANGUAGES:
        return explicit.lower()
    for negative_quality, _, tag in _ranges(accept_language or ""):
        if negative_quality >= 0:
            break
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return default
