"""The whole configuration file: one section model per owning package, composed here."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from policy.config import PolicyConfig
from policy.tomlfile import load_model
from relay.config import DkimConfig, RelayConfig, UpstreamConfig
from store.config import AuditConfig, StoreConfig
from web.config import WebConfig
from web.tracking_config import TrackingConfig


class Config(BaseModel):
    """Top level of ``config.toml``; unknown sections or keys are errors."""

    model_config = ConfigDict(extra="forbid")

    relay: RelayConfig = Field(default_factory=RelayConfig)
    upstream: UpstreamConfig = Field(default_factory=UpstreamConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    dkim: DkimConfig = Field(default_factory=DkimConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None or value.is_absolute():
        return value
    return (base / value).resolve()


def _resolve_sqlite(base: Path, url: str) -> str:
    """Relative SQLite paths are relative to the config file, like every other path."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or rest.startswith("/") or rest == ":memory:":
        return url
    return f"{prefix}:///{(base / rest).resolve()}"


def load_config(path: Path) -> Config:
    """Load and validate; relative paths become relative to the file's folder."""
    config = load_model(path, Config)
    base = path.resolve().parent
    config.policy.file = _resolve(base, config.policy.file) or config.policy.file
    config.relay.tls_cert = _resolve(base, config.relay.tls_cert)
    config.relay.tls_key = _resolve(base, config.relay.tls_key)
    config.relay.auth_users_file = _resolve(base, config.relay.auth_users_file)
    config.relay.dedup_file = _resolve(base, config.relay.dedup_file)
    config.upstream.capture_dir = _resolve(base, config.upstream.capture_dir)
    config.dkim.private_key = _resolve(base, config.dkim.private_key)
    config.store.url = _resolve_sqlite(base, config.store.url)
    return config
