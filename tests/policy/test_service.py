"""The relay's entry point: normalise, look up consent (fail closed), decide, reload safely."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from policy.service import PolicyService
from rewriters.treatment import Action
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger

DATA = Path(__file__).parents[1] / "data" / "policy"


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}")
    await db.upgrade()
    yield Ledger(db, "k")
    await db.dispose()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    shutil.copy(DATA / "valid.toml", path)
    return path


@pytest.fixture
def service(ledger: Ledger, policy_file: Path) -> PolicyService:
    return PolicyService(policy_file, ConsentCache(ledger, ttl_seconds=60))


async def test_consent_on_record_leads_to_disclose(service: PolicyService, ledger: Ledger) -> None:
    await ledger.record("Ann@Example.com", ["open_tracking"], "granted", method="page")
    decision = await service.decide("news@shop.example", "<ANN@example.com>")
    assert decision.rule_id == "consented" and decision.treatment.action is Action.DISCLOSE
    assert decision.consent.recipient == "ann@example.com" and decision.refusal is None


async def test_no_consent_leads_to_strip(service: PolicyService) -> None:
    decision = await service.decide("news@shop.example", "bob@example.com")
    assert decision.treatment.action is Action.STRIP and decision.rule_id == "default"


async def test_withdrawal_through_the_same_process_applies_to_the_next_decision(
    service: PolicyService, ledger: Ledger
) -> None:
    await ledger.record("ann@example.com", ["open_tracking"], "granted", method="page")
    assert (await service.decide("s@shop.example", "ann@example.com")).rule_id == "consented"
    await ledger.record("ann@example.com", ["open_tracking"], "withdrawn", method="page")
    assert (await service.decide("s@shop.example", "ann@example.com")).rule_id == "default"


async def test_invalid_recipient_is_refused_with_a_reason(service: PolicyService) -> None:
    decision = await service.decide("s@shop.example", "not..valid@example.com")
    assert decision.refusal is not None and "dot" in decision.refusal


async def test_decide_many_answers_every_recipient_as_given(
    service: PolicyService, ledger: Ledger
) -> None:
    await ledger.record("ann@example.com", ["open_tracking"], "granted", method="page")
    decisions = await service.decide_many("s@shop.example", ["Ann@example.com", "b@x.org", "bad"])
    assert decisions["Ann@example.com"].rule_id == "consented"
    assert decisions["b@x.org"].rule_id == "default"
    assert decisions["bad"].refusal


async def test_unreachable_store_strips_and_is_counted(tmp_path: Path, policy_file: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'consent.db'}")
    service = PolicyService(policy_file, ConsentCache(Ledger(db, "k")))
    decision = await service.decide("s@shop.example", "ann@example.com")
    assert decision.treatment.action is Action.STRIP and not decision.consent.reachable
    assert decision.refusal is None  # the mail is still delivered
    assert service.cache.store_errors == 1
    await db.dispose()


async def test_category_at_data_time_changes_the_decision(service: PolicyService) -> None:
    decision = await service.decide("s@shop.example", "a@example.com", "transactional")
    assert decision.rule_id == "transactional"


async def test_invalid_new_file_keeps_the_old_policy_running(
    service: PolicyService, policy_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = service.version
    policy_file.write_text((DATA / "duplicate_id.toml").read_text())
    with caplog.at_level(logging.ERROR, logger="consent_relay.policy"):
        assert service.reload() is False
    assert service.version == version and service.reloads_failed == 1
    assert "policy_reload_failed" in caplog.messages
    record = caplog.records[-1]
    assert any(":13: rules[2].id" in p for p in record.__dict__["problems"])


async def test_valid_new_file_replaces_the_policy(
    service: PolicyService, policy_file: Path
) -> None:
    version = service.version
    policy_file.write_text('[default]\naction = "report"\n')
    assert service.reload() is True
    assert service.version != version and service.reloads_ok == 1


async def test_watch_reloads_when_the_file_changes(
    service: PolicyService, policy_file: Path
) -> None:
    task = asyncio.create_task(service.watch(0.05))
    try:
        await asyncio.sleep(0.1)
        assert service.reloads_ok == 0  # unchanged file: no reload
        policy_file.write_text('[default]\naction = "permit"\n')
        stat = policy_file.stat()
        os.utime(policy_file, (stat.st_atime, stat.st_mtime + 2))
        for _ in range(40):
            if service.reloads_ok:
                break
            await asyncio.sleep(0.05)
        assert service.reloads_ok == 1
        decision = await service.decide("s@x.org", "a@example.com")
        assert decision.treatment.action is Action.PERMIT
    finally:
        task.cancel()


async def test_explain_shows_rules_tried_and_events_relied_on(
    service: PolicyService, ledger: Ledger
) -> None:
    (event_id,) = await ledger.record(
        "ann@example.com", ["open_tracking"], "granted", method="page", text_version="v2"
    )
    explanation = await service.explain("s@shop.example", "ann@example.com")
    assert explanation.decision.rule_id == "consented"
    assert explanation.trace[-1] == ("consented", None)
    assert [e.id for e in explanation.events] == [event_id]
