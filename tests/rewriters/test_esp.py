import json
from typing import Any

import pytest

from rewriters.esp import PROFILES, esp_switches, get_profile, profiles, warnings
from rewriters.headers import get_values, header_end, parse_fields
from rewriters.treatment import Purpose

BODY = b"<html><body><p>Hello</p></body></html>\r\n"
MESSAGE = (
    b"From: sales@example.com\r\n"
    b"To: lead@example.org\r\n"
    b"Subject: Quote\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n" + BODY
)


def _with(*fields: bytes) -> bytes:
    return b"".join(f + b"\r\n" for f in fields) + MESSAGE


def _body(raw: bytes) -> bytes:
    return raw[header_end(raw):]


def test_every_configurable_profile_has_a_table_entry() -> None:
    assert set(PROFILES) == set(profiles())


def test_generic_profile_leaves_the_message_byte_identical() -> None:
    out, notes = esp_switches(MESSAGE, "generic")
    assert out is MESSAGE and notes == []


def test_unknown_profile_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="mailgun"):
        esp_switches(MESSAGE, "acme")


def test_mailgun_switches_replace_a_sending_tools_tracking_on_header() -> None:
    raw = _with(b"X-Mailgun-Track-Opens: yes", b"X-Mailgun-Track-Clicks: htmlonly")
    out, notes = esp_switches(raw, "mailgun")
    assert get_values(out, "X-Mailgun-Track") == ["no"]
    assert get_values(out, "X-Mailgun-Track-Opens") == ["no"]
    assert get_values(out, "X-Mailgun-Track-Clicks") == ["no"]
    assert "esp_header_removed:x-mailgun-track-opens" in notes
    assert _body(out) == BODY


def test_postmark_switches_turn_opens_and_links_off() -> None:
    out, _ = esp_switches(_with(b"X-PM-TrackOpens: true"), "postmark")
    assert get_values(out, "X-PM-TrackOpens") == ["false"]
    assert get_values(out, "X-PM-TrackLinks") == ["None"]


def test_postmark_warns_that_server_level_open_tracking_wins() -> None:
    assert any("server" in w and "Open tracking" in w for w in warnings("postmark"))


def test_mailjet_switches_are_zero() -> None:
    out, _ = esp_switches(_with(b"X-Mailjet-TrackOpen: 1"), "mailjet")
    assert get_values(out, "X-Mailjet-TrackOpen") == ["0"]
    assert get_values(out, "X-Mailjet-TrackClick") == ["0"]


def test_sendgrid_header_is_added_with_both_filters_disabled() -> None:
    out, _ = esp_switches(MESSAGE, "sendgrid")
    (value,) = get_values(out, "X-SMTPAPI")
    filters = json.loads(value)["filters"]
    assert filters["opentrack"] == {"settings": {"enable": 0}}
    assert filters["clicktrack"] == {"settings": {"enable": 0}}


def test_sendgrid_merge_keeps_the_senders_other_smtpapi_content() -> None:
    existing: dict[str, Any] = {
        "category": ["newsletter"],
        "unique_args": {"customer": "42"},
        "filters": {"clicktrack": {"settings": {"enable": 1, "enable_text": True}},
                    "footer": {"settings": {"enable": 1, "text/plain": "bye"}}},
    }
    raw = _with(b"X-SMTPAPI: " + json.dumps(existing).encode())
    out, _ = esp_switches(raw, "sendgrid")
    values = get_values(out, "X-SMTPAPI")
    assert len(values) == 1
    merged = json.loads(values[0])
    assert merged["category"] == ["newsletter"]
    assert merged["unique_args"] == {"customer": "42"}
    assert merged["filters"]["footer"] == existing["filters"]["footer"]
    assert merged["filters"]["clicktrack"]["settings"] == {"enable": 0, "enable_text": True}
    assert merged["filters"]["opentrack"]["settings"]["enable"] == 0


def test_sendgrid_long_json_is_folded_below_the_line_limit() -> None:
    existing = {"unique_args": {f"key{i}": "x" * 20 for i in range(60)}}
    raw = _with(b"X-SMTPAPI: " + json.dumps(existing).encode())
    out, _ = esp_switches(raw, "sendgrid")
    head = out[: header_end(out)]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    (field,) = [f for f in parse_fields(out) if f.name == "x-smtpapi"]
    merged = json.loads(field.value.replace(b"\r\n", b""))
    assert merged["unique_args"] == existing["unique_args"]


def test_unparsable_sendgrid_header_is_replaced_and_reported() -> None:
    out, notes = esp_switches(_with(b"X-SMTPAPI: {not json"), "sendgrid")
    assert "esp_header_unparsable:x-smtpapi" in notes
    assert json.loads(get_values(out, "X-SMTPAPI")[0])["filters"]["opentrack"]


def test_sparkpost_options_merge_into_an_existing_msys_header() -> None:
    raw = _with(b'X-MSYS-API: {"campaign_id": "spring", "options": {"open_tracking": true}}')
    out, _ = esp_switches(raw, "sparkpost")
    (value,) = get_values(out, "X-MSYS-API")
    merged = json.loads(value)
    assert merged["campaign_id"] == "spring"
    assert merged["options"] == {"open_tracking": False, "click_tracking": False}


def test_ses_changes_nothing_and_says_so() -> None:
    raw = _with(b"X-SES-CONFIGURATION-SET: tracked")
    out, notes = esp_switches(raw, "ses")
    assert out is raw
    assert notes == ["esp_no_per_message_switch:ses"]
    assert any("configuration set" in w for w in warnings("ses"))


def test_mandrill_tracking_list_is_replaced_by_an_empty_one() -> None:
    out, _ = esp_switches(_with(b"X-MC-Track: opens, clicks_all"), "mandrill")
    assert get_values(out, "X-MC-Track") == [""]
    assert warnings("mandrill")


def test_switches_are_idempotent() -> None:
    for name in PROFILES:
        once, _ = esp_switches(MESSAGE, name)
        twice, _ = esp_switches(once, name)
        assert twice == once, name


def test_lf_only_messages_get_lf_switch_lines() -> None:
    raw = MESSAGE.replace(b"\r\n", b"\n")
    out, _ = esp_switches(raw, "mailgun")
    assert b"\r" not in out
    assert out.endswith(raw)


def test_profile_sources_are_recorded_for_every_switching_profile() -> None:
    for name in PROFILES:
        if name != "generic":
            assert get_profile(name).source, name


def test_only_the_unconsented_purpose_is_switched_off() -> None:
    raw = _with(b"X-Mailgun-Track: yes", b"X-Mailgun-Track-Clicks: yes")
    out, _ = esp_switches(raw, "mailgun", [Purpose.CLICK_TRACKING])
    assert get_values(out, "X-Mailgun-Track-Clicks") == ["no"]
    assert get_values(out, "X-Mailgun-Track") == ["yes"]  # the sender's choice for opens stays
    assert get_values(out, "X-Mailgun-Track-Opens") == []


def test_sendgrid_switches_off_clicks_only_and_leaves_opens_alone() -> None:
    out, _ = esp_switches(MESSAGE, "sendgrid", ["click_tracking"])
    filters = json.loads(get_values(out, "X-SMTPAPI")[0])["filters"]
    assert filters == {"clicktrack": {"settings": {"enable": 0}}}


def test_no_purpose_to_switch_off_changes_nothing() -> None:
    out, notes = esp_switches(MESSAGE, "postmark", [])
    assert out is MESSAGE and notes == []


def test_mandrill_drops_only_the_click_entries_from_the_senders_list() -> None:
    raw = _with(b"X-MC-Track: opens, clicks_htmlonly")
    out, _ = esp_switches(raw, "mandrill", [Purpose.CLICK_TRACKING])
    assert get_values(out, "X-MC-Track") == ["opens"]


def test_mandrill_without_a_senders_list_switches_everything_off_and_says_so() -> None:
    out, notes = esp_switches(MESSAGE, "mandrill", [Purpose.OPEN_TRACKING])
    assert get_values(out, "X-MC-Track") == [""]
    assert "esp_switch_coarse:mandrill" in notes
