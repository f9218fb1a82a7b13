"""Before/after message pairs in tests/data/rewriters (see its README)."""

from __future__ import annotations

import email
from datetime import datetime
from pathlib import Path

import pytest

from rewriters import Action, RewriteContext, Treatment, apply

DATA = Path(__file__).resolve().parent.parent / "data" / "rewriters"
RECIPIENT = "alice@example.org"
PAIRS = sorted(p.name.removesuffix(".strip.eml") for p in DATA.glob("*.strip.eml"))
UNTOUCHED = ["clean-receipt", "smime-signed", "forward-rfc822"]


def _check(name: str, suffix: str, actual: bytes) -> None:
    expected_path = DATA / f"{name}.{suffix}.eml"
    expected = expected_path.read_bytes()
    if actual != expected:
        (DATA / f"{name}.{suffix}.actual.eml").write_bytes(actual)
    assert actual == expected, f"see {name}.{suffix}.actual.eml"


@pytest.mark.parametrize("name", PAIRS)
def test_strip_output_matches_the_expected_message(name: str) -> None:
    raw = (DATA / f"{name}.eml").read_bytes()
    result = apply(raw, Treatment(Action.STRIP), RewriteContext(recipient=RECIPIENT))
    _check(name, "strip", result.data)
    assert email.message_from_bytes(result.data) is not None


@pytest.mark.parametrize("name", PAIRS + UNTOUCHED)
def test_permit_and_report_return_the_same_bytes(name: str) -> None:
    raw = (DATA / f"{name}.eml").read_bytes()
    for action in (Action.PERMIT, Action.REPORT):
        result = apply(raw, Treatment(action), RewriteContext(recipient=RECIPIENT))
        assert result.data == raw


@pytest.mark.parametrize("name", UNTOUCHED)
def test_message_with_nothing_to_clean_is_byte_identical_under_strip(name: str) -> None:
    raw = (DATA / f"{name}.eml").read_bytes()
    result = apply(raw, Treatment(Action.STRIP), RewriteContext(recipient=RECIPIENT))
    assert result.data == raw


def test_signed_message_is_reported_uncleanable() -> None:
    raw = (DATA / "smime-signed.eml").read_bytes()
    result = apply(raw, Treatment(Action.STRIP), RewriteContext(recipient=RECIPIENT))
    assert result.uncleanable and result.data == raw
    assert any("multipart/signed" in note for note in result.notes)


def test_forwarded_message_attachment_is_noted_and_left_alone() -> None:
    raw = (DATA / "forward-rfc822.eml").read_bytes()
    result = apply(raw, Treatment(Action.STRIP), RewriteContext(recipient=RECIPIENT))
    assert result.data == raw
    assert result.findings and all(  # its trackers are reported, never edited
        f.action == "reported" and f.where.startswith("forwarded") for f in result.findings
    )
    assert any("message/rfc822" in note for note in result.notes)


def test_disclose_in_french_adds_the_expected_footer() -> None:
    raw = (DATA / "mailchimp-newsletter.eml").read_bytes()
    context = RewriteContext(
        recipient=RECIPIENT,
        stop_tracking_url="https://relay.example/stop/Zx9",
        consent_since=datetime(2026, 3, 1),
    )
    result = apply(raw, Treatment(Action.DISCLOSE, footer_language="fr"), context)
    _check("mailchimp-newsletter", "disclose-fr", result.data)
