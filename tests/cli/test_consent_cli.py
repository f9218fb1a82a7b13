"""``consent-relay consent ...`` and ``db upgrade`` against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[store]\nurl = "sqlite+aiosqlite:///data/consent.db"\ncontroller = "acme"\n'
        f'[policy]\nfile = "{ROOT / "policy.example.toml"}"\n'
    )
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade_creates_the_database_next_to_the_config(config: Path) -> None:
    assert (config.parent / "data" / "consent.db").exists()


def test_grant_then_show_lists_state_and_history(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "consent",
        "grant",
        "Ann@Example.COM",
        "--purpose",
        "open_tracking,click_tracking",
        "--evidence",
        "asked by phone",
        "--config",
        str(config),
    )
    assert code == 0 and "recorded events" in out
    run(
        capsys,
        "consent",
        "withdraw",
        "ann@example.com",
        "--purpose",
        "click_tracking",
        "--config",
        str(config),
    )
    code, out, _ = run(capsys, "consent", "show", "ANN@example.com", "--config", str(config))
    assert code == 0
    assert "open_tracking:  granted" in out and "click_tracking: withdrawn" in out
    assert "history (3 events)" in out and "evidence=asked by phone" in out


def test_bad_address_or_purpose_exits_2_without_traceback(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "consent",
        "object",
        "no-at-sign",
        "--purpose",
        "open_tracking",
        "--config",
        str(config),
    )
    assert code == 2 and "missing @" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "consent",
        "grant",
        "a@example.com",
        "--purpose",
        "profiling",
        "--config",
        str(config),
    )
    assert code == 2 and "unknown purpose 'profiling'" in err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "consent", "show", "a@example.com", "--config", str(tmp_path / "nope.toml")
    )
    assert code == 2 and "no such configuration file" in err


def test_fresh_store_gets_its_schema_on_first_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[store]\nurl = "sqlite+aiosqlite:///fresh.db"\n')
    code, out, err = run(capsys, "consent", "show", "a@example.com", "--config", str(path))
    assert code == 0 and "Traceback" not in err and "a@example.com" in out
    assert (tmp_path / "fresh.db").exists()


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("recipient,purpose,state,occurred_at,source_id\n" + "\n".join(rows) + "\n")
    return path


def test_import_reports_every_bad_line_and_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            "b@example.org,open_tracking,granted,2026-03-01T10:00:00+01:00,crm-1",
            "not-an-address,open_tracking,granted,,crm-2",
            "c@example.org,open_tracking,perhaps,,crm-3",
            "d@example.org,open_tracking,granted,yesterday,crm-4",
        ],
    )
    code, _, err = run(capsys, "consent", "import", str(path), "--config", str(config))
    assert code == 2
    assert f"{path}:3: recipient" in err and f"{path}:4: unknown state" in err
    assert f"{path}:5: occurred_at" in err and "nothing imported" in err
    code, out, _ = run(capsys, "consent", "show", "b@example.org", "--config", str(config))
    assert "history (0 events)" in out


def test_import_dry_run_validates_only_then_import_writes_all(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            "B@Example.org,open_tracking;click_tracking,granted,2026-03-01T10:00:00Z,crm-1",
            "c@example.org,open_tracking,refused,,crm-2",
        ],
    )
    code, out, _ = run(capsys, "consent", "import", str(path), "--dry-run", "--config", str(config))
    assert code == 0 and "3 events valid (dry run" in out
    assert (
        "history (0 events)"
        in run(capsys, "consent", "show", "b@example.org", "--config", str(config))[1]
    )
    code, out, _ = run(capsys, "consent", "import", str(path), "--config", str(config))
    assert code == 0 and "imported 3 events" in out
    out = run(capsys, "consent", "show", "b@example.org", "--config", str(config))[1]
    assert "open_tracking:  granted since 2026-03-01T10:00:00+00:00" in out


def test_import_rejects_unknown_columns(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.csv"
    path.write_text("recipient,purpose,state,colour\na@example.org,open_tracking,granted,red\n")
    code, _, err = run(capsys, "consent", "import", str(path), "--config", str(config))
    assert code == 2 and f"{path}:1: header: unknown column 'colour'" in err


def test_export_csv_round_trips_through_import(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "consent",
        "refuse",
        "a@example.org",
        "--purpose",
        "open_tracking",
        "--config",
        str(config),
    )
    code, out, _ = run(capsys, "consent", "export", "--format", "csv", "--config", str(config))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["recipient"] == "a@example.org" and rows[0]["state"] == "refused"
    code, out, _ = run(capsys, "consent", "export", "--format", "json", "--config", str(config))
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["events"][0]["purpose"] == "open_tracking"


def test_erase_keeps_the_refusal_as_suppression(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "consent",
        "object",
        "a@example.org",
        "--purpose",
        "open_tracking",
        "--config",
        str(config),
    )
    code, out, _ = run(capsys, "consent", "erase", "a@example.org", "--config", str(config))
    assert code == 0 and "erased 1 events" in out and "open_tracking objected" in out
    code, out, _ = run(
        capsys, "consent", "show", "a@example.org", "--json", "--config", str(config)
    )
    data = json.loads(out)
    assert (
        data["events"] == []
        and data["suppressed"]
        and data["state"]["open_tracking"] == ("objected")
    )
