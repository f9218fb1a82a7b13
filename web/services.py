"""Everything the web app needs, built once by the composition root (``cli/serve.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy.service import PolicyService
from store.audit import AuditStore
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.config import WebConfig
from web.links import LinkSigner


@dataclass
class WebServices:
    """Shared objects (the same ones the relay uses) plus routes other packages contribute.

    ``extra_routes`` are Starlette routes (e.g. ``/metrics``, ``/t/...``) appended after the
    built-in ones. ``audit`` (optional) serves ``/admin/api/decisions``; when it also offers
    ``erase_recipient(address_hash, address) -> int``, an erasure removes the address's audit
    references too.
    """

    config: WebConfig
    db: Database
    ledger: Ledger
    cache: ConsentCache
    policy: PolicyService
    signer: LinkSigner
    extra_routes: list[Any] = field(default_factory=list)
    audit: AuditStore | None = None
