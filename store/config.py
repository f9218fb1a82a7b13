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
    record_ip: bool = Field(
        default=False,
        description="Keep the IP address of consent page POSTs as evidence (off: minimisation).",
    )
    lookup_timeout: float = Field(
        default=2.0,
        gt=0,
        description="Seconds a RCPT-time consent lookup may take before failing closed.",
    )


class AuditConfig(_Section):
    """``[audit]``: decision records, retention per table, and the controller named in the ROPA.

    Defaults (docs/audit.md): decision records 365 days, policy reload events 365 days, the
    delivery journal 7 days (longer than an MTA's 5-day retry window), consent evidence 1825
    days (5 years) after the recipient's last refusal, withdrawal or expiry.
    """

    enabled: bool = True
    sender: str = Field(default="address", pattern="^(address|domain)$")
    clear_recipients: bool = False
    retention_days: int = Field(default=365, ge=1, description="Decision records.")
    reload_days: int = Field(default=365, ge=1, description="Policy reload events.")
    journal_days: int = Field(default=7, ge=1, description="Delivery journal (dedup keys).")
    consent_evidence_days: int = Field(
        default=1825,
        ge=1,
        description="Ledger events kept after withdrawal, refusal, objection or expiry.",
    )
    purge_hour: int = Field(default=3, ge=0, le=23, description="UTC hour of the daily purge.")
    json_logs: bool = False
    controller_name: str = Field(default="", description="Controller named in the ROPA.")
    controller_contact: str = Field(default="", description="Controller's postal/email contact.")
    dpo_contact: str = Field(default="", description="Data protection officer's contact.")
