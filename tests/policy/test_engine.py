"""Decisions: first matching rule wins; conditions on sender, recipient, category, consent."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.engine import Policy, category_of
from rewriters.treatment import Action, Purpose
from store.state import ConsentState, ConsentStatus, PurposeState

DATA = Path(__file__).parents[1] / "data" / "policy"
OPEN, CLICK = Purpose.OPEN_TRACKING, Purpose.CLICK_TRACKING


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DATA / "valid.toml")


def consent(recipient: str, **purposes: str) -> ConsentState:
    states = {
        p: PurposeState(ConsentStatus(s), event_id=i)
        for i, (p, s) in enumerate(purposes.items(), 1)
    }
    return ConsentState(recipient, states)


def none(recipient: str) -> ConsentState:
    return ConsentState.unknown(recipient)


def test_no_rule_matching_falls_back_to_the_default(policy: Policy) -> None:
    decision = policy.decide("news@shop.example", "ann@example.com", none("ann@example.com"))
    assert decision.rule_id == "default" and decision.treatment.action is Action.STRIP
    assert decision.treatment.strip_purposes == {OPEN, CLICK}
    assert decision.treatment.esp_switches_off
    assert decision.policy_version == policy.version


def test_first_matching_rule_wins_over_later_ones(policy: Policy) -> None:
    # "pilot" (report) comes before "consented" (disclose); both match.
    state = consent("ann@example.com", open_tracking="granted")
    decision = policy.decide("a@pilot.example.com", "ann@example.com", state)
    assert decision.rule_id == "pilot" and decision.treatment.action is Action.REPORT


def test_sender_glob_matches_case_insensitively(policy: Policy) -> None:
    decision = policy.decide("A@PILOT.Example.com", "x@example.org", none("x@example.org"))
    assert decision.rule_id == "pilot"


def test_recipient_address_and_subdomain_globs(policy: Policy) -> None:
    for recipient in ("boss@partner.example", "x@eu.partner.example"):
        assert policy.decide("s@shop.example", recipient, none(recipient)).rule_id == "vip"
    assert policy.decide("s@shop.example", "x@partner.example", none("x")).rule_id == "default"


def test_category_from_header_selects_rule(policy: Policy) -> None:
    decision = policy.decide("s@shop.example", "a@example.com", none("a"), "Transactional")
    assert decision.rule_id == "transactional" and decision.category == "transactional"
    assert decision.treatment.action is Action.PERMIT and decision.treatment.strip_purposes == set()


def test_category_from_sender_rule_when_no_header(policy: Policy) -> None:
    decision = policy.decide("bills@billing.example.com", "a@example.com", none("a"))
    assert decision.rule_id == "transactional"


def test_unknown_category_header_is_ignored(policy: Policy) -> None:
    assert category_of("newsletter") is None
    assert category_of("One-To-One Sales") == "one_to_one_sales"
    assert policy.decide("s@shop.example", "a@example.com", none("a"), "weird").category is None


def test_recipient_tld_and_per_purpose_consent(policy: Policy) -> None:
    state = consent("kurt@example.de", open_tracking="objected", click_tracking="granted")
    decision = policy.decide("s@shop.example", "kurt@example.de", state)
    assert decision.rule_id == "german-objection"


def test_jurisdiction_profile_matches_by_tld(policy: Policy) -> None:
    state = consent("marie@example.fr", open_tracking="granted", click_tracking="granted")
    decision = policy.decide("s@shop.example", "marie@example.fr", state)
    assert decision.rule_id == "eu-clicks-only"
    assert decision.treatment.strip_purposes == {OPEN}  # always stripped by this rule


def test_disclose_strips_purposes_not_granted_and_routes_per_recipient(policy: Policy) -> None:
    state = consent("ann@example.com", open_tracking="granted", click_tracking="withdrawn")
    decision = policy.decide("s@shop.example", "ann@example.com", state)
    treatment = decision.treatment
    assert decision.rule_id == "consented" and treatment.action is Action.DISCLOSE
    assert treatment.strip_purposes == {CLICK}
    assert treatment.allowed_vendors == {"mailchimp"}
    assert treatment.per_recipient and treatment.route_through_relay
    assert decision.consent is state


def test_unreachable_store_never_satisfies_a_consent_condition(policy: Policy) -> None:
    granted = consent("ann@example.com", open_tracking="granted")
    cut_off = ConsentState(granted.recipient, granted.purposes, reachable=False)
    decision = policy.decide("s@shop.example", "ann@example.com", cut_off)
    assert decision.rule_id == "default" and decision.treatment.action is Action.STRIP


def test_trace_tells_which_condition_failed(policy: Policy) -> None:
    trace = policy.trace("s@shop.example", "ann@example.com", none("ann@example.com"))
    assert trace[0] == ("pilot", "sender")
    assert ("consented", "consent") in trace


def test_consent_none_and_all_granted_conditions(tmp_path: Path) -> None:
    text = (
        '[default]\naction = "strip"\n'
        '[[rules]]\nid = "all"\nconsent = "all_granted"\naction = "permit"\n'
        '[[rules]]\nid = "nothing"\nconsent = "none"\naction = "report"\n'
    )
    policy = Policy.from_text(text)
    both = consent("a@x.org", open_tracking="granted", click_tracking="granted")
    one = consent("a@x.org", open_tracking="granted")
    assert policy.decide("s@y.org", "a@x.org", both).rule_id == "all"
    assert policy.decide("s@y.org", "a@x.org", none("a@x.org")).rule_id == "nothing"
    assert policy.decide("s@y.org", "a@x.org", one).rule_id == "default"
