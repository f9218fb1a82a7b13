"""Configuration sections owned by the store: database, consent cache, audit and retention."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Section):
    """``[store]``: the SQLAlchemy URL (SQLite file by default) and the consent cache."""

    url: str = "sqlite+aiosqlite:///consent-relay.db"
    cache_ttl: float = Field(default=30.0, ge=0)
    hash_key: str = Field(
        default="change-me-hash-key",
        description="Secret for keyed hashes of addresses (suppression list, audit records).",
    )
    controller: str = "default"


class AuditConfig(_Section):
    """``[audit]``: decision records and retention."""

    enabled: bool = True
    sender: str = Field(default="address", pattern="^(address|domain)$")
    clear_recipients: bool = False
    retention_days: int = Field(default=365, ge=1)
    consent_evidence_days: int = Field(default=1825, ge=1)
    json_logs: bool = False
