"""Policy files are validated as a whole; every problem names file, line, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.engine import Policy
from policy.tomlfile import FileError

DATA = Path(__file__).parents[1] / "data" / "policy"
ROOT = Path(__file__).parents[2]


def problems(name: str) -> list[str]:
    with pytest.raises(FileError) as caught:
        Policy.load(DATA / name)
    return caught.value.problems


def test_valid_file_loads_with_a_version_hash_of_its_bytes() -> None:
    policy = Policy.load(DATA / "valid.toml")
    assert len(policy.version) == 12 and int(policy.version, 16) >= 0
    assert [r.rule.id for r in policy.rules][:2] == ["pilot", "transactional"]


def test_shipped_example_policy_is_valid() -> None:
    Policy.load(ROOT / "policy.example.toml")


def test_unknown_key_names_its_line_and_key() -> None:
    (problem,) = problems("unknown_key.toml")
    assert problem.startswith(f"{DATA / 'unknown_key.toml'}:10: rules[1].acton: unknown key")


def test_bad_globs_are_each_reported_at_their_line() -> None:
    found = problems("bad_glob.toml")
    assert len(found) == 2
    assert ":6: rules[0].sender:" in found[0] and "john smith@example.com" in found[0]
    assert ":11: rules[1].recipient:" in found[1] and "unbalanced" in found[1]


def test_unknown_jurisdiction_profile_lists_the_known_ones() -> None:
    (problem,) = problems("unknown_profile.toml")
    assert ":6: rules[0].jurisdiction:" in problem and "'atlantis'" in problem
    assert "eu" in problem and "us-ca" in problem


def test_duplicate_rule_id_names_the_duplicate_and_its_line() -> None:
    (problem,) = problems("duplicate_id.toml")
    assert ":13: rules[2].id: duplicate rule id 'marketing'" in problem
    assert "rules[0]" in problem


def test_missing_default_is_an_error() -> None:
    (problem,) = problems("missing_default.toml")
    assert "default" in problem and "required" in problem.lower()


def test_toml_syntax_error_is_reported_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[default\naction = 'strip'\n")
    with pytest.raises(FileError, match=r"broken\.toml: TOML syntax error"):
        Policy.load(path)


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ('action = "obliterate"', "rules[0].action"),
        ('action = "permit"\nconsent = "maybe"', "rules[0].consent"),
        ('action = "permit"\nconsent = { profiling = "granted" }', "rules[0].consent"),
        ('action = "permit"\ncategory = ["newsletter"]', "rules[0].category"),
        ('action = "permit"\nopaque_links = "drop"', "rules[0].opaque_links"),
        ('action = "permit"\nuncleanable = "bounce"', "rules[0].uncleanable"),
        ('action = "permit"\nrecipient_tlds = ["f r"]', "rules[0].recipient_tlds"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, snippet: str, key: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[default]\naction = "strip"\n\n[[rules]]\nid = "r"\n{snippet}\n')
    with pytest.raises(FileError) as caught:
        Policy.load(path)
    assert any(key in p for p in caught.value.problems), caught.value.problems


def test_default_takes_no_match_conditions(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[default]\naction = "strip"\nsender = ["*@x.com"]\n')
    with pytest.raises(FileError, match=r":3: default\.sender: unknown key"):
        Policy.load(path)
