"""The committed policy reference is the one the models generate."""

from __future__ import annotations

from pathlib import Path

from policy.reference import render

DOC = Path(__file__).parents[2] / "docs" / "policy-reference.md"


def test_committed_policy_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m policy.reference > docs/policy-reference.md"
    )


def test_reference_documents_every_rule_key_and_profile() -> None:
    text = render()
    for key in ("`recipient_tlds`", "`jurisdiction`", "`consent`", "`uncleanable`", "`us-ca`"):
        assert key in text
