"""``[web]`` section: the HTTP listener for recipient pages, admin API, metrics."""

from __future__ import annotations

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
