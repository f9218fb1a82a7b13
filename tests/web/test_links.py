"""Signed recipient links: what verifies, what is refused and why, and the relay's context."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from policy.decision import Decision
from rewriters.treatment import STRIP, Action, Treatment
from store.state import ConsentState, ConsentStatus, PurposeState
from web.links import (
    ALL_PURPOSES,
    BadToken,
    ExpiredToken,
    LinkSigner,
    MalformedToken,
    TamperedToken,
    UnknownKeyToken,
    context_factory,
)

BASE = "https://consent.example.com"


def signer(*keys: str, days: int = 30) -> LinkSigner:
    return LinkSigner(list(keys) or ["k1"], BASE, days, controller="acme")


def test_a_signed_link_verifies_to_the_normalised_recipient_purposes_and_controller() -> None:
    token = signer().sign(" Ann@Example.COM ", ["open_tracking"], "acme")
    claims = signer().verify(token)
    assert claims.recipient == "ann@example.com"
    assert claims.purposes == ("open_tracking",)
    assert claims.controller == "acme"
    assert abs((datetime.now(UTC) - claims.issued_at).total_seconds()) < 5


def test_two_links_issued_at_the_same_second_for_two_recipients_differ_in_their_mac() -> None:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    a = signer().sign("a@example.com", ALL_PURPOSES, "acme", when)
    b = signer().sign("b@example.com", ALL_PURPOSES, "acme", when)
    assert a.split(".")[2] != b.split(".")[2]


def _reencode(token: str, **changes: object) -> str:
    version, payload, mac = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return f"{version}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{mac}"


@pytest.mark.parametrize(
    "change",
    [{"r": "mallory@example.com"}, {"p": ["click_tracking"]}, {"c": "other"}, {"t": 2_000_000_000}],
)
def test_changing_any_signed_field_is_detected_as_tampering(change: dict[str, object]) -> None:
    token = signer().sign("ann@example.com", ALL_PURPOSES, "acme")
    with pytest.raises(TamperedToken):
        signer().verify(_reencode(token, **change))


def test_a_flipped_mac_character_is_tampering() -> None:
    token = signer().sign("ann@example.com", ALL_PURPOSES, "acme")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(TamperedToken):
        signer().verify(flipped)


def test_a_link_forged_with_another_key_is_refused() -> None:
    forged = signer("attacker-key").sign("ann@example.com", ALL_PURPOSES, "acme")
    with pytest.raises(UnknownKeyToken):
        signer("k1").verify(forged)


def test_a_forged_link_claiming_our_key_id_fails_the_mac() -> None:
    genuine = signer("k1").sign("ann@example.com", ALL_PURPOSES, "acme")
    ours = json.loads(base64.urlsafe_b64decode(genuine.split(".")[1] + "==="))["k"]
    forged = signer("attacker-key").sign("ann@example.com", ALL_PURPOSES, "acme")
    with pytest.raises(TamperedToken):
        signer("k1").verify(_reencode(forged, k=ours))


@pytest.mark.parametrize("garbage", ["", "v1", "v2.abc.def", "v1..", "v1.!!!.xyz", "v1.e30.AAAA"])
def test_garbage_is_malformed_or_unknown_never_an_exception_of_another_kind(garbage: str) -> None:
    with pytest.raises(BadToken) as caught:
        signer().verify(garbage)
    assert caught.value.reason in {"malformed", "unknown_key"}


def test_a_link_older_than_max_age_is_expired() -> None:
    old = datetime.now(UTC) - timedelta(days=31)
    token = signer(days=30).sign("ann@example.com", ALL_PURPOSES, "acme", old)
    with pytest.raises(ExpiredToken):
        signer(days=30).verify(token)


def test_after_rotation_old_links_verify_until_the_old_key_is_dropped() -> None:
    old_link = signer("k-old").sign("ann@example.com", ALL_PURPOSES, "acme")
    rotated = signer("k-new", "k-old")
    assert rotated.verify(old_link).recipient == "ann@example.com"
    new_link = rotated.sign("ann@example.com", ALL_PURPOSES, "acme")
    assert signer("k-new").verify(new_link).recipient == "ann@example.com"
    with pytest.raises(UnknownKeyToken):
        signer("k-new").verify(old_link)


def test_payload_fields_that_are_signed_but_invalid_are_malformed() -> None:
    with pytest.raises(ValueError):
        signer().sign("ann@example.com", ["profiling"], "acme")
    with pytest.raises(MalformedToken):
        signer().verify("v1.bm90LWpzb24.AAAA")


def test_the_stop_tracking_url_is_absolute_under_base_url_and_covers_every_purpose() -> None:
    url = signer().stop_tracking_url("Ann@Example.com", "acme")
    assert url.startswith(f"{BASE}/p/v1.")
    claims = signer().verify(url.removeprefix(f"{BASE}/p/"))
    assert set(claims.purposes) == set(ALL_PURPOSES)


def test_the_context_factory_gives_the_personal_link_and_earliest_consent_date() -> None:
    early, late = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    consent = ConsentState(
        "ann@example.com",
        {
            "open_tracking": PurposeState(ConsentStatus.GRANTED, late, 2),
            "click_tracking": PurposeState(ConsentStatus.GRANTED, early, 1),
        },
    )
    decision = Decision(Treatment(Action.DISCLOSE), "rule", "v", consent)
    context = context_factory(signer())("ann@example.com", decision, "trace-1")
    assert context.recipient == "ann@example.com"
    assert context.consent_since == early
    assert context.controller == "acme"
    assert context.stop_tracking_url is not None
    token = context.stop_tracking_url.removeprefix(f"{BASE}/p/")
    assert signer().verify(token).recipient == "ann@example.com"
    stripped = context_factory(signer())("ann@example.com", Decision(STRIP, "r", "v", consent), "t")
    assert stripped.stop_tracking_url is None  # no footer under strip, so no link is signed
