"""Tracker knowledge: every vendor entry is exercised by its own examples."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from rewriters.decoders import split_url
from rewriters.knowledge import KNOWLEDGE, parse

REQUIRED_VENDORS = {
    "HubSpot",
    "HubSpot Sales",
    "Mailchimp",
    "Mandrill",
    "SendGrid",
    "Mailgun",
    "Postmark",
    "Amazon SES",
    "Salesforce Marketing Cloud",
    "Pardot",
    "Marketo",
    "Mailtrack",
    "Yesware",
    "Mixmax",
    "Streak",
    "Superhuman",
    "Pipedrive",
    "Outreach",
    "Salesloft",
    "GMass",
    "Close",
    "Brevo",
    "Litmus",
    "ActiveCampaign",
    "SparkPost",
}
EXAMPLES = [
    pytest.param(vendor.name, example, id=f"{vendor.name}-{n}")
    for vendor in KNOWLEDGE.vendors
    for n, example in enumerate(vendor.examples)
]


def test_data_file_is_versioned() -> None:
    text = resources.files("rewriters").joinpath("data/trackers.toml").read_text("utf-8")
    assert tomllib.loads(text)["version"] == KNOWLEDGE.version >= 1


def test_every_vendor_of_the_research_notes_has_an_entry() -> None:
    assert {v.name for v in KNOWLEDGE.vendors} >= REQUIRED_VENDORS


def test_every_vendor_entry_carries_examples() -> None:
    assert [v.name for v in KNOWLEDGE.vendors if not v.examples] == []


@pytest.mark.parametrize(("vendor", "example"), EXAMPLES)
def test_vendor_example_url_is_matched_with_its_kind(vendor: str, example: dict[str, str]) -> None:
    parts = split_url(example["url"])
    assert parts is not None
    match = KNOWLEDGE.match(parts)
    assert match is not None, example["url"]
    assert (match.vendor, match.kind) == (vendor, example["kind"])
    if "destination" in example:
        assert match.destination() == example["destination"]


@pytest.mark.parametrize(
    "url",
    [
        "https://mcusercontent.com/6a8b1c/images/header.png",
        "https://acme.us12.list-manage.com/unsubscribe?u=1&id=2",
        "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.com",
        "https://urldefense.com/v3/__https://example.com__;!!A!b$",
        "https://urldefense.proofpoint.com/v2/url?u=https-3A__example.com&d=DwMF",
        "https://www.example.com/c/some-category/page",
        "https://www.example.com/o/organisation",
    ],
)
def test_content_and_security_wrapper_urls_are_not_trackers(url: str) -> None:
    parts = split_url(url)
    assert parts is not None and KNOWLEDGE.match(parts) is None


def test_digit_runs_in_host_labels_match_hash_entries() -> None:
    parts = split_url("https://t.sidekickopen99.com/e1t/o/5/abc")
    assert parts is not None
    match = KNOWLEDGE.match(parts)
    assert match is not None and match.vendor == "HubSpot Sales"


def test_a_new_vendor_is_one_toml_entry() -> None:
    knowledge = parse("""
version = 7
[[vendors]]
name = "Newco"
hosts = ["newco-track.example"]
host_kind = "open_pixel"
examples = [{ url = "https://o.newco-track.example/p.gif", kind = "open_pixel" }]
""")
    parts = split_url("https://o.newco-track.example/p.gif")
    assert parts is not None
    match = knowledge.match(parts)
    assert knowledge.version == 7 and match is not None and match.vendor == "Newco"


def test_per_person_parameters_are_data() -> None:
    assert {"mc_eid", "_hsenc", "mkt_tok", "fbclid"} <= KNOWLEDGE.per_person
    assert "utm_source" not in KNOWLEDGE.per_person


def test_every_path_rule_runs_in_linear_time_on_hostile_paths() -> None:
    import threading

    rules = [r for v in KNOWLEDGE.vendors for r in v.rules]
    rules += [r for group in KNOWLEDGE.by_segment.values() for r in group]
    hostile = [
        "/" + "a/" * 2_000,
        "/" + "eJ" * 2_000,
        "/q/" + "a~" * 2_000,
        "/ss/o/" + "x/" * 2_000,
    ]
    done: list[bool] = []

    def work() -> None:
        for rule in rules:
            for path in hostile:
                if rule.path is not None:
                    rule.path.match(path)
        done.append(True)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(20)
    assert done, "a path rule backtracks on hostile input"
