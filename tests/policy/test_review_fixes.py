"""Policy files that once crashed the loader or passed when they should not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from policy.engine import Policy
from policy.service import PolicyService
from policy.tomlfile import FileError
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger

VALID = 'version = 1\n[default]\naction = "strip"\n'


def test_deeply_nested_file_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("[a]\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(FileError, match="nested too deeply"):
        Policy.load(deep)


@pytest.mark.parametrize("version", ["2", '"1"', "99999999999999999999999"])
def test_unknown_format_versions_are_refused(tmp_path: Path, version: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(VALID.replace("version = 1", f"version = {version}"))
    with pytest.raises(FileError, match="version"):
        Policy.load(path)


async def test_watcher_survives_a_broken_file_and_picks_up_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(VALID)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    service = PolicyService(path, ConsentCache(Ledger(db, "k")))
    watcher = asyncio.create_task(service.watch(0.02))
    path.write_text("[a]\nx = " + "[" * 3000 + "]" * 3000 + "\n")
    await asyncio.sleep(0.1)
    path.write_text(VALID.replace('"strip"', '"permit"'))
    await asyncio.sleep(0.1)
    assert not watcher.done()
    assert service.policy.model.default.action == "permit"
    watcher.cancel()
    await db.dispose()
