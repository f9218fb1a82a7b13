"""Per-person parameters, protected links, and links in plain text."""

from __future__ import annotations

from collections.abc import Callable

from rewriters import Action, RewriteResult

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]


def _plain(text: str) -> bytes:
    return (
        b"From: a@vendor.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode()
    )


def test_per_person_parameters_are_removed_and_campaign_ones_kept(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    link = (
        '<a href="https://shop.example/p?utm_source=nl&amp;_hsenc=p2ANqtz&amp;_hsmi=99'
        '&amp;id=7#top">x</a>'
    )
    result = run(html_message(link))
    assert result.data == html_message(
        '<a href="https://shop.example/p?utm_source=nl&amp;id=7#top">x</a>'
    )
    assert sorted(f.detail for f in result.findings) == ["_hsenc", "_hsmi"]


def test_parameter_equal_to_the_recipient_is_removed(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    result = run(html_message('<a href="https://shop.example/r?email=alice%40example.org">x</a>'))
    assert result.data == html_message('<a href="https://shop.example/r">x</a>')
    assert result.findings[0].confidence == "identity_hit"


def test_unsubscribe_link_keeps_its_tracking_parameters(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<a href="https://shop.example/unsubscribe?mkt_tok=NjUz&amp;e=alice%40example.org">'
        'Unsubscribe</a> <a href="https://shop.example/x?mkt_tok=NjUz">Manage your '
        'preferences</a> <a href="https://shop.example/v?mkt_tok=1">View in browser</a>'
    )
    assert run(raw).data == raw


def test_links_in_plain_text_are_unwrapped(run: Rewrite) -> None:
    raw = _plain(
        "Read: https://t.yesware.com/tt/0a1b/9f8e/0011/www.example.com/case-study.\r\n"
        "Track: https://mailtrack.io/trace/link/0a1b?url=https%3A%2F%2Fexample.com%2Fq&userId=1\r\n"
    )
    result = run(raw)
    assert result.data == _plain(
        "Read: https://www.example.com/case-study.\r\nTrack: https://example.com/q\r\n"
    )


def test_plain_text_unsubscribe_line_is_left_alone(run: Rewrite) -> None:
    raw = _plain("Unsubscribe: https://shop.example/u?mc_eid=abc123\r\n")
    assert run(raw).data == raw


def test_nested_wrappers_are_unwrapped_to_the_destination(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    inner = "https%3A%2F%2Fclick.pstmrk.it%2F3s%2Fshop.example%252Fa%2Fx%2Fy%2Fz"
    raw = html_message(f'<a href="https://mailtrack.io/trace/link/1?url={inner}">x</a>')
    assert run(raw).data == html_message('<a href="https://shop.example/a">x</a>')


def test_security_wrappers_are_left_in_place(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message(
        '<a href="https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2F'
        'email.mg.example.com%2Fc%2FeJxLsU02&amp;data=05">x</a>'
    )
    assert run(raw).data == raw


def test_mailto_and_anchor_links_are_ignored(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message('<a href="mailto:alice@example.org?subject=hi">m</a><a href="#top">t</a>')
    assert run(raw).data == raw


def test_opaque_wrapper_in_plain_text_is_kept_even_when_policy_prefers_text(run: Rewrite) -> None:
    raw = _plain("Offer: https://acme.us12.list-manage.com/track/click?u=1&id=2&e=3\r\n")
    result = run(raw, opaque_links="text")
    assert result.data == raw and result.findings[0].action == "kept"


def test_allowed_vendor_keeps_its_parameters_under_disclose(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message('<a href="https://shop.example/p?mc_eid=1&amp;_hsenc=2">x</a>')
    result = run(raw, Action.DISCLOSE, allowed_vendors=frozenset({"Mailchimp"}))
    assert b'href="https://shop.example/p?mc_eid=1"' in result.data


def test_tracker_nested_in_a_security_wrapper_is_reported_but_left_in_place(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    inner = (
        "https%3A%2F%2F1a2b.r.us-east-1.awstrack.me%2FL0%2Fhttps%3A%252F%252Fshop.example%2F1%2Fx"
    )
    raw = html_message(
        f'<a href="https://eur01.safelinks.protection.outlook.com/?url={inner}&amp;data=05">x</a>'
    )
    result = run(raw)
    assert result.data == raw
    assert [(f.vendor, f.action) for f in result.findings] == [("Amazon SES", "kept")]


def test_a_link_that_merely_mentions_safelinks_is_still_cleaned(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message('<a href="https://shop.example/?q=safelinks&amp;mc_eid=9">x</a>')
    assert run(raw).data == html_message('<a href="https://shop.example/?q=safelinks">x</a>')
