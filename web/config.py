"""``[web]`` section: the HTTP listener for recipient pages, admin API, metrics."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class WebConfig(BaseModel):
    """Recipient pages and the admin API are served from the same process as SMTP."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    listen: str = "127.0.0.1:8025"
    base_url: str = "http://127.0.0.1:8025"
    signing_keys: list[str] = Field(default_factory=lambda: ["change-me-signing-key"])
    admin_tokens: list[str] = Field(
        default_factory=list, description="sha256 hex digests of admin bearer tokens"
    )
    link_max_age_days: int = Field(default=400, ge=1)
    store_ip: bool = False
    templates_dir: Path | None = Field(
        default=None,
        description="admin overrides: templates (*.html) and locales/<lang>.toml searched first",
    )
    default_language: str = Field(default="en", pattern="^(en|fr|de|it|es|nl)$")
    form_max_age_hours: int = Field(
        default=24, ge=1, description="how long a consent form stays valid after it was shown"
    )
