"""What each treatment does to the same tracked message."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import datetime

import pytest

from rewriters import Action, Purpose, RewriteResult

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]

PIXEL = (
    '<img src="https://acme.us12.list-manage.com/track/open.php?u=1&amp;id=2" width="1" height="1">'
)
WRAPPED = "https://click.pstmrk.it/3s/shop.example%2Fboots/AbCd/xyz/sig"
OPAQUE = "https://acme.us12.list-manage.com/track/click?u=1&amp;id=2&amp;e=3"
BODY = (
    f'<html><body><p>Hi</p><a href="{WRAPPED}">Boots</a><a href="{OPAQUE}">Sale</a>{PIXEL}'
    "</body></html>\r\n"
)


def test_pixel_from_unconsented_recipient_is_removed(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    result = run(html_message(BODY))
    assert b"track/open.php" not in result.data
    assert any(f.kind == "open_pixel" and f.action == "removed" for f in result.findings)


def test_recoverable_click_wrapper_is_unwrapped(html_message: HtmlBuilder, run: Rewrite) -> None:
    result = run(html_message(BODY))
    assert b'href="https://shop.example/boots"' in result.data
    assert any(f.vendor == "Postmark" and f.action == "unwrapped" for f in result.findings)


def test_opaque_click_wrapper_is_kept_and_reported(html_message: HtmlBuilder, run: Rewrite) -> None:
    result = run(html_message(BODY))
    assert OPAQUE.encode() in result.data
    assert any(
        f.vendor == "Mailchimp" and f.kind == "click_wrapper" and f.action == "kept"
        for f in result.findings
    )


def test_opaque_click_wrapper_becomes_plain_text_when_policy_says_so(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    result = run(html_message(BODY), opaque_links="text")
    assert b"Sale" in result.data and b"track/click" not in result.data
    assert b"<a" in result.data  # the unwrapped link stays a link


def test_permit_changes_nothing(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message(BODY)
    result = run(raw, Action.PERMIT)
    assert result.data is raw or result.data == raw


def test_report_returns_original_bytes_with_would_be_findings(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(BODY)
    result = run(raw, Action.REPORT)
    assert result.data == raw
    assert {f.action for f in result.findings} >= {"removed", "unwrapped"}
    assert all("report-only" in f.detail for f in result.findings)


def test_disclose_keeps_trackers_and_adds_a_footer_to_html_and_text(run: Rewrite) -> None:
    raw = (
        b"From: a@shop.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b'--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi "
        + WRAPPED.encode()
        + b"\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + BODY.encode()
        + b"--a--\r\n--m\r\nContent-Type: text/plain; name=notes.txt\r\n"
        b"Content-Disposition: attachment; filename=notes.txt\r\n\r\nattached notes\r\n--m--\r\n"
    )
    result = run(
        raw,
        Action.DISCLOSE,
        stop_tracking_url="https://relay.example/stop/k1",
        consent_since=datetime(2026, 1, 15),
    )
    parts = [p for p in email.message_from_bytes(result.data).walk() if not p.is_multipart()]
    plain, html, attachment = (p.get_payload(decode=True) for p in parts)
    assert b"track/open.php" in html and WRAPPED.encode() in plain
    for body in (plain, html):
        assert b"Mailchimp" in body and b"Postmark" in body and b"2026-01-15" in body
        assert b"https://relay.example/stop/k1" in body
    assert attachment == b"attached notes"
    assert b'<a href="https://relay.example/stop/k1">' in html


def test_disclose_without_trackers_adds_no_footer(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message("<html><body><p>No tracking here</p></body></html>")
    assert run(raw, Action.DISCLOSE, stop_tracking_url="https://relay.example/s").data == raw


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        ("en", "To stop this tracking"),
        ("fr", "Pour arrêter ce suivi"),
        ("de", "Tracking beenden"),
        ("it", "Per interrompere il tracciamento"),
        ("es", "Para dejar de ser rastreado"),
        ("nl", "Tracking stoppen"),
    ],
)
def test_footer_speaks_the_treatment_language(
    html_message: HtmlBuilder, run: Rewrite, language: str, phrase: str
) -> None:
    result = run(
        html_message(BODY),
        Action.DISCLOSE,
        footer_language=language,
        stop_tracking_url="https://relay.example/s",
    )
    assert phrase.encode() in result.data


def test_admin_footer_template_text_replaces_the_shipped_one(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    result = run(
        html_message(BODY),
        Action.DISCLOSE,
        footer_text="Tracked by $vendors.\n",
        stop_tracking_url="https://relay.example/s",
    )
    assert b"Tracked by Postmark, Mailchimp." in result.data


def test_disclose_can_still_strip_open_pixels(html_message: HtmlBuilder, run: Rewrite) -> None:
    result = run(
        html_message(BODY), Action.DISCLOSE, strip_purposes=frozenset({Purpose.OPEN_TRACKING})
    )
    assert b"track/open.php" not in result.data and WRAPPED.encode() in result.data


def test_vendor_outside_allowed_list_is_stripped_under_disclose(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    result = run(html_message(BODY), Action.DISCLOSE, allowed_vendors=frozenset({"Mailchimp"}))
    assert b"track/open.php" in result.data
    assert b'href="https://shop.example/boots"' in result.data


def test_kept_trackers_are_routed_through_the_relay(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    def route(url: str, purpose: Purpose) -> str:
        return f"https://relay.example/r/{purpose.value}/{len(url)}"

    result = run(html_message(BODY), Action.PERMIT, route_through_relay=True, route_url=route)
    assert b"relay.example/r/open_tracking/" in result.data
    assert result.data.count(b"relay.example/r/click_tracking/") == 2
    assert [f.action for f in result.findings].count("routed") == 3


def test_read_receipt_headers_are_removed(html_message: HtmlBuilder, run: Rewrite) -> None:
    headers = (
        "Disposition-Notification-To: boss@shop.example\r\n"
        "Return-Receipt-To: boss@shop.example\r\nX-Confirm-Reading-To: boss@shop.example\r\n"
    )
    raw = html_message("<p>x</p>", extra_headers=headers)
    result = run(raw)
    assert result.data == html_message("<p>x</p>")
    assert [f.kind for f in result.findings] == ["header"] * 3


def test_list_unsubscribe_header_is_never_touched(html_message: HtmlBuilder, run: Rewrite) -> None:
    header = "List-Unsubscribe: <https://shop.example/unsub?mc_eid=abc&_hsenc=x>\r\n"
    raw = html_message("<p>x</p>", extra_headers=header)
    assert run(raw).data == raw
