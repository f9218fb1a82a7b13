"""``consent-relay scan`` and ``consent-relay rewrite``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

DATA = Path(__file__).resolve().parent.parent / "data" / "rewriters"


def test_scan_prints_a_table_of_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(DATA / "streak-hidden-div.eml")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["vendor", "kind", "where"]
    assert "Streak" in out and "open_pixel" in out


def test_scan_json_lists_findings(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "mailgun-base64-identity.eml"
    assert main(["scan", str(path), "--recipient", "alice@example.org", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {f["confidence"] for f in payload["findings"]} == {"vendor_rule", "identity_hit"}


def test_rewrite_writes_the_message_for_the_recipient(tmp_path: Path) -> None:
    out = tmp_path / "out.eml"
    code = main(
        [
            "rewrite",
            str(DATA / "streak-hidden-div.eml"),
            "--recipient",
            "alice@example.org",
            "--treatment",
            "strip",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert out.read_bytes() == (DATA / "streak-hidden-div.strip.eml").read_bytes()


def test_rewrite_to_stdout_with_disclose_footer(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = main(
        [
            "rewrite",
            str(DATA / "streak-hidden-div.eml"),
            "--recipient",
            "alice@example.org",
            "--treatment",
            "disclose",
            "--language",
            "de",
            "--stop-url",
            "https://relay.example/s/1",
        ]
    )
    assert code == 0
    assert b"Tracking beenden: " in capsysbinary.readouterr().out


@pytest.mark.parametrize(
    "command", [["scan"], ["rewrite", "--recipient", "a@b.example", "--treatment", "strip"]]
)
def test_unreadable_file_gives_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "missing.eml"
    assert main([command[0], str(missing), *command[1:]]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "missing.eml" in err
