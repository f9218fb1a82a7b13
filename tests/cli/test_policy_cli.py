"""``consent-relay policy check`` and ``policy explain``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "policy"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_accepts_the_example_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "check", str(ROOT / "policy.example.toml"))
    assert code == 0 and "OK" in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_key.toml", ":10: rules[1].acton: unknown key"),
        ("bad_glob.toml", ":11: rules[1].recipient:"),
        ("unknown_profile.toml", ":6: rules[0].jurisdiction: Value error, unknown profile"),
        ("duplicate_id.toml", ":13: rules[2].id: duplicate rule id 'marketing'"),
        ("missing_default.toml", ": default: Field required"),
    ],
)
def test_check_lists_problems_with_file_line_and_key(
    capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    code, _, err = run(capsys, "policy", "check", str(DATA / name))
    assert code == 2 and f"{DATA / name}{expected}" in err and "not loaded" in err
    assert "Traceback" not in err


def test_check_of_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "policy", "check", "/no/such/policy.toml")
    assert code == 2 and "cannot read" in err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[store]\nurl = "sqlite+aiosqlite:///consent.db"\n'
        f'[policy]\nfile = "{DATA / "valid.toml"}"\n'
    )
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    return path


def test_explain_names_rule_treatment_and_events_relied_on(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "consent",
        "grant",
        "ann@example.com",
        "--purpose",
        "open_tracking",
        "--config",
        str(config),
    )
    code, out, _ = run(
        capsys,
        "policy",
        "explain",
        "--from",
        "news@shop.example",
        "--to",
        "Ann@Example.com",
        "--config",
        str(config),
    )
    assert code == 0
    assert "rule:       consented" in out and "action:     disclose" in out
    assert "strip:      click_tracking" in out
    assert "rule tried: pilot: no (sender)" in out
    assert "relied on:  event 1: open_tracking granted" in out


def test_explain_json_with_category(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "explain",
        "--from",
        "a@shop.example",
        "--to",
        "b@example.com",
        "--category",
        "transactional",
        "--json",
        "--config",
        str(config),
    )
    data = json.loads(out)
    assert code == 0 and data["rule"] == "transactional" and data["category"] == "transactional"
    assert data["treatment"]["action"] == "permit"


def test_explain_invalid_recipient_exits_2(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "policy",
        "explain",
        "--from",
        "a@shop.example",
        "--to",
        "nobody",
        "--config",
        str(config),
    )
    assert code == 2 and "refused:" in out


def test_explain_with_store_down_says_so_and_strips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "down.toml"
    path.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db"\n'
        f'[policy]\nfile = "{DATA / "valid.toml"}"\n'
    )
    code, out, err = run(
        capsys,
        "policy",
        "explain",
        "--from",
        "a@shop.example",
        "--to",
        "b@example.com",
        "--config",
        str(path),
    )
    assert code == 0 and "store unreachable" in out and "action:     strip" in out
    assert "warning: consent store unreachable" in err


def test_check_warns_about_vendors_the_tracker_list_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[default]\naction = "strip"\n\n[[rules]]\nid = "x"\naction = "disclose"\n'
        'allowed_vendors = ["Mailchimp", "mailchamp"]\n'
    )
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 0 and "OK" in out
    assert f"{path}:7: rules[0].allowed_vendors: warning: unknown vendor 'mailchamp'" in err
    assert "'mailchimp'" not in err.split("known")[0]


def test_check_warns_about_a_footer_template_file_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.toml"
    path.write_text('version = 1\n[default]\naction = "strip"\n[[rules]]\nid = "d"\n'
                    'action = "disclose"\nfooter_template = "nope.txt"\n')
    code, out, err = run(capsys, "policy", "check", str(path))
    assert code == 0 and "OK" in out
    assert f"{path}:7: rules[0].footer_template: warning: no file 'nope.txt'" in err
