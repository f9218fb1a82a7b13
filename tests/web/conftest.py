"""Web fixtures: the real app on a real SQLite file, driven in-process by httpx (ASGI)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # web_harness, page_forms

from web_harness import ADMIN_TOKEN, BASE_URL, CONTROLLER, POLICY, make_services, web_config

from store.db import Database
from store.ledger import Ledger
from web.app import create_app
from web.config import WebConfig
from web.services import WebServices


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
