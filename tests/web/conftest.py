"""Web fixtures: the real app on a real SQLite file, driven in-process by httpx (ASGI)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from policy.service import PolicyService
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger
from web.app import create_app
from web.config import WebConfig
from web.links import LinkSigner
from web.services import WebServices

sys.path.insert(0, str(Path(__file__).parent))  # page_forms helpers

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


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}")
    await database.upgrade("heads")
    yield database
    await database.dispose()


@pytest.fixture
def ledger(db: Database) -> Ledger:
    return Ledger(db, "test-hash-key", CONTROLLER)


@pytest.fixture
def config() -> WebConfig:
    return web_config()


def make_services(
    config: WebConfig, db: Database, ledger: Ledger, policy_file: Path
) -> WebServices:
    cache = ConsentCache(ledger, ttl_seconds=30)
    signer = LinkSigner(
        config.signing_keys, config.base_url, config.link_max_age_days, controller=CONTROLLER
    )
    policy = PolicyService(policy_file, cache)
    return WebServices(config, db, ledger, cache, policy, signer)


@pytest.fixture
def services(config: WebConfig, db: Database, ledger: Ledger, policy_file: Path) -> WebServices:
    return make_services(config, db, ledger, policy_file)


@pytest.fixture
async def client(services: WebServices) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
