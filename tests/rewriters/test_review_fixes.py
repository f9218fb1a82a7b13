"""Regressions for defects a review demonstrated in the rewriting engine."""

from __future__ import annotations

import email
import quopri
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path

from rewriters import Action, RewriteResult
from rewriters.charrefs import unescape_attr

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]


def test_raw_ampersand_parameters_survive_link_rewriting(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    link = ('<a href="https://shop.example.com/cart?currency=EUR&region=eu&copy=2'
            '&mc_eid=abc123">Cart</a>')
    result = run(html_message(link))
    assert result.data == html_message(
        '<a href="https://shop.example.com/cart?currency=EUR&region=eu&copy=2">Cart</a>'
    )


def test_escaped_ampersands_stay_escaped_after_link_rewriting(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    link = ('<a href="https://shop.example.com/cart?currency=EUR&amp;region=eu'
            '&amp;mc_eid=abc123">Cart</a>')
    result = run(html_message(link))
    assert result.data == html_message(
        '<a href="https://shop.example.com/cart?currency=EUR&amp;region=eu">Cart</a>'
    )


def test_attribute_values_decode_references_as_browsers_do() -> None:
    assert unescape_attr("a=1&region=eu&copy=2") == "a=1&region=eu&copy=2"
    assert unescape_attr("a=1&amp;b=2&#38;c&#x26;d") == "a=1&b=2&c&d"
    assert unescape_attr("&copy; &copy &copy") == "\u00a9 \u00a9 \u00a9"
    assert unescape_attr("&notareference; &ampx") == "&notareference; &ampx"


def _plain(text: str) -> bytes:
    return (
        b"From: a@vendor.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + text.encode()
    )


def test_plain_text_url_stops_before_japanese_text_and_em_dash(run: Rewrite) -> None:
    text = (
        "セールはhttps://www.example.com/sale?mc_eid=zz。ありがとうございました。\r\n"
        "Details: https://mailtrack.io/trace/link/0a1b?url=https%3A%2F%2Fwww.example.com"
        "%2Fquote&userId=1&signature=ab—thanks, Bob\r\n"
    )
    result = run(_plain(text))
    assert result.data == _plain(
        "セールはhttps://www.example.com/sale。ありがとうございました。\r\n"
        "Details: https://www.example.com/quote—thanks, Bob\r\n"
    )


def test_role_mailbox_name_in_an_image_path_is_not_an_identity_hit(
    run: Rewrite, data_dir: Path
) -> None:
    raw = (data_dir / "review" / "role-mailbox-icon.eml").read_bytes()
    result = run(raw, recipient="billing@corp.example")
    assert result.data == raw
    assert result.findings == []


def test_bare_local_part_as_a_whole_query_value_is_still_removed(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    link = '<a href="https://shop.example/billing/p?u=billing&amp;id=7">x</a>'
    result = run(html_message(link), recipient="billing@corp.example")
    assert result.data == html_message('<a href="https://shop.example/billing/p?id=7">x</a>')


_PIXEL = ('<img src="https://acme.us12.list-manage.com/track/open.php?u=6a8b1c&amp;id=4f2e9d'
          '&amp;e=83b1a2c4d5" width="1" height="1">')


def test_nested_boundary_sharing_the_outer_prefix_keeps_signed_part_untouched(
    run: Rewrite,
) -> None:
    raw = (
        "From: a@x.example\r\nTo: alice@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        "--XX\r\n"
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        'micalg=sha-256; boundary="XX_signed"\r\n\r\n'
        "--XX_signed\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p>Signed body</p>{_PIXEL}\r\n\r\n"
        "--XX_signed\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIIB\r\n"
        "--XX_signed--\r\n\r\n"
        "--XX--\r\n"
    ).encode()
    result = run(raw)
    assert result.data == raw
    assert result.findings == []


_MAILTRACK = ("https://mailtrack.io/trace/link/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567?url="
              "https%3A%2F%2Fwww.example.com%2Fquote&userId=1234567&signature=abcdef0123")


def _disclosed_text(run: Rewrite, charset: str, cte: str, body: bytes) -> str:
    raw = (
        "From: a@x.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="{charset}"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode() + body
    result = run(raw, Action.DISCLOSE, footer_language="fr",
                 stop_tracking_url="https://relay.example/stop/abc")
    message = email.message_from_bytes(result.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    content = message.get_content()
    assert isinstance(content, str)
    return content


def test_french_footer_falls_back_to_ascii_in_a_us_ascii_quoted_printable_part(
    run: Rewrite,
) -> None:
    body = quopri.encodestring(f"Quote: {_MAILTRACK}\r\n".encode())
    content = _disclosed_text(run, "us-ascii", "quoted-printable", body)
    assert "?" not in content.split(_MAILTRACK)[-1]
    assert "consentement donne le" in content
    assert "Pour arreter ce suivi" in content


def test_french_footer_falls_back_to_ascii_in_a_shift_jis_part(run: Rewrite) -> None:
    body = f"見積もりはこちら:\r\n{_MAILTRACK}\r\n".encode("shift_jis")
    content = _disclosed_text(run, "shift_jis", "8bit", body)
    assert "見積もりはこちら" in content
    assert "?" not in content.split(_MAILTRACK)[-1]
    assert "consentement donne le" in content


def test_unsubscribe_link_wrapped_in_a_click_tracker_is_left_as_it_was(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    unsub = ('<a href="https://mailtrack.io/trace/link/0a1b2c3d?url=https%3A%2F%2Fwww.example.com'
             '%2Funsubscribe%3Fmc_eid%3Dzz&amp;userId=1&amp;signature=ab">Unsubscribe</a>')
    by_text = ('<a href="https://mailtrack.io/trace/link/0a1b2c3d?url=https%3A%2F%2Fwww.example'
               '.com%2Fp%2F7&amp;userId=1&amp;signature=ab">Manage your preferences</a>')
    raw = html_message(f"<p>{unsub} {by_text}</p>")
    result = run(raw)
    assert result.data == raw
    assert [(f.kind, f.action) for f in result.findings] == [
        ("click_wrapper", "kept"), ("click_wrapper", "kept")]


def test_ordinary_link_wrapped_in_a_click_tracker_is_still_unwrapped(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    link = ('<a href="https://mailtrack.io/trace/link/0a1b2c3d?url=https%3A%2F%2Fwww.example.com'
            '%2Fquote&amp;userId=1&amp;signature=ab">Your quote</a>')
    result = run(html_message(link))
    assert result.data == html_message('<a href="https://www.example.com/quote">Your quote</a>')


def test_srcset_keeps_untouched_candidates_verbatim_including_commas_in_urls(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    shoe = "https://res.cloudinary.com/demo/image/upload/w_300,h_200,c_fill/shoe.jpg"
    srcset = (f"{shoe} 1x, https://acme.us12.list-manage.com/track/open.php?u=6a8b1c&amp;"
              "id=4f2e9d&amp;e=83b1a2c4d5 2x")
    body = f'<picture><source srcset="{srcset}"><img src="{shoe}" width="300"></picture>'
    result = run(html_message(body))
    assert result.data == html_message(
        f'<picture><source srcset="{shoe} 1x"><img src="{shoe}" width="300"></picture>'
    )
