"""``[policy]`` section of the main configuration file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class PolicyConfig(BaseModel):
    """Where the policy file lives and how often to look for changes."""

    model_config = ConfigDict(extra="forbid")

    file: Path = Path("policy.example.toml")
    watch_interval: float = Field(default=5.0, ge=0)
    category_header: str = "X-Consent-Relay-Category"
