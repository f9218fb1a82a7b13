"""The web app's real collaborators on a temporary SQLite file (shared by the web tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from policy.service import PolicyService
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.config import WebConfig
from web.links import LinkSigner
from web.services import WebServices

BASE_URL = "http://consent.test"
ADMIN_TOKEN = "admin-secret-token"
CONTROLLER = "acme"
POLICY = """\
version = 1
name = "web tests"

[default]
action = "strip"

[[rules]]
id = "consented-disclose"
consent = "any_granted"
action = "disclose"
"""


def web_config(**overrides: object) -> WebConfig:
    settings: dict[str, object] = {
        "base_url": BASE_URL,
        "signing_keys": ["key-2026-b", "key-2026-a"],
        "admin_tokens": [hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()],
        **overrides,
    }
    return WebConfig.model_validate(settings)


def make_services(
    config: WebConfig, db: Database, ledger: Ledger, policy_file: Path
) -> WebServices:
    cache = ConsentCache(ledger, ttl_seconds=30)
    signer = LinkSigner(
        config.signing_keys, config.base_url, config.link_max_age_days, controller=CONTROLLER
    )
    policy = PolicyService(policy_file, cache)
    return WebServices(config, db, ledger, cache, policy, signer)
