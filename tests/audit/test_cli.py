"""``consent-relay report``, ``ropa`` and ``purge`` against a real configuration and store."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_samples import HASH_KEY, delivery, finding, sample

from audit.recorder import AuditRecorder
from cli.main import main
from store.config import AuditConfig
from store.db import Database

POLICY = """version = 1
[default]
action = "strip"

[[rules]]
id = "consented"
consent = "any_granted"
action = "disclose"
allowed_vendors = ["mailchimp"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    path = tmp_path / "config.toml"
    path.write_text(
        '[store]\nurl = "sqlite+aiosqlite:///audit.db"\n'
        f'hash_key = "{HASH_KEY}"\n[policy]\nfile = "policy.toml"\n'
        '[audit]\ncontroller_name = "ACME SAS"\ncontroller_contact = "privacy@acme.example"\n'
        "retention_days = 30\n"
    )

    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
        await db.upgrade("heads")
        recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
        for item in sample():
            await recorder.delivered(item)
        old = recorder.record_of(delivery(99, "old@acme.example", ["x@example.fr"],
                                          [finding("Mailtrack", "open_pixel", "removed")]))
        await recorder.store.add(replace(old, occurred_at=datetime.now(UTC) - timedelta(days=40)))
        await db.dispose()

    asyncio.run(seed())
    return path


def test_report_json_and_html_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(config), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["messages"] == 10
    assert data["vendors"][0]["vendor"] == "Mailchimp"
    assert main(["report", "--config", str(config), "--since", "60d", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["messages"] == 11
    out = config.parent / "report.html"
    assert main(["report", "--config", str(config), "--format", "html", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "--config", str(config), "--since", "soon"]) == 2
    assert "expected e.g. 7d" in capsys.readouterr().err


def test_report_table_and_csv(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(config)]) == 0
    assert "Trackers by sender domain" in capsys.readouterr().out
    assert main(["report", "--config", str(config), "--format", "csv"]) == 0
    assert "vendors,Mailtrack,found,4" in capsys.readouterr().out


def test_ropa_markdown_and_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ropa", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "# Record of processing activities" in text
    assert "- Name: ACME SAS" in text and "| consented |  | disclose | mailchimp |" in text
    assert "| Mailchimp | click_wrapper, open_pixel | 7 |" in text
    approved = {line.split(" | ")[0][2:]: line.rsplit(" | ", 1)[1] for line in text.splitlines()
                if line.startswith(("| Mailchimp", "| Mailtrack", "| HubSpot"))}
    assert approved == {"Mailchimp": "yes |", "Mailtrack": "no |", "HubSpot": "no |"}
    assert main(["ropa", "--config", str(config), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["controller"]["contact"] == "privacy@acme.example"
    inventory = {v["vendor"]: v["occurrences"] for v in data["vendor_inventory"]}
    assert [v["vendor"] for v in data["vendor_inventory"] if v["approved"]] == ["Mailchimp"]
    assert inventory == {"Mailchimp": 7, "Mailtrack": 5, "HubSpot": 3}  # all delivered, held
    days = {r["data"].split(" (")[0]: r["days"] for r in data["retention"]}
    assert days["decision records"] == 30 and days["consent evidence"] == 1825


def test_purge_dry_run_then_purge(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge", "--config", str(config), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "audit_decisions: would delete 1" in captured.out
    assert "audit_decisions ... 1" in captured.err  # progress
    assert main(["purge", "--config", str(config)]) == 0
    assert "audit_decisions: deleted 1" in capsys.readouterr().out
    assert main(["purge", "--config", str(config)]) == 0
    assert "total: deleted 0" in capsys.readouterr().out
