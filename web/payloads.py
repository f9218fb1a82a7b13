"""Request bodies of the admin API (pydantic): validation errors become 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from store.addresses import normalize

Purpose = Literal["open_tracking", "click_tracking"]
State = Literal["granted", "refused", "withdrawn", "objected"]
Address = Annotated[str, Field(max_length=320), AfterValidator(normalize)]
MAX_BULK = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(_Strict):
    """One consent change for one recipient (one ledger row per purpose)."""

    recipient: Address
    purposes: list[Purpose] = Field(min_length=1)
    state: State
    method: Literal["api", "admin", "import"] = "api"
    source_id: str | None = Field(default=None, max_length=256)
    text_version: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, description="consent text shown; stored as SHA-256")
    language: str | None = Field(default=None, max_length=16)
    expires_at: AwareDatetime | None = None
    occurred_at: AwareDatetime | None = Field(default=None, description="default: now")
    actor: str | None = Field(default=None, max_length=256)


class ImportEvent(_Strict):
    """One imported row (e.g. from a CRM): when it happened there, and its source id."""

    recipient: Address
    purposes: list[Purpose] = Field(min_length=1)
    state: State
    occurred_at: AwareDatetime
    source_id: str | None = Field(default=None, max_length=256)
    text_version: str | None = Field(default=None, max_length=64)
    text_hash: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    language: str | None = Field(default=None, max_length=16)
    expires_at: AwareDatetime | None = None


class BulkImport(_Strict):
    """All rows are stored in one transaction, or none (the first invalid row is named)."""

    source_id: str | None = Field(default=None, max_length=256, description="default per row")
    actor: str | None = Field(default=None, max_length=256)
    events: list[ImportEvent] = Field(min_length=1, max_length=MAX_BULK)
