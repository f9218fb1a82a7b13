"""Regressions for defects a review demonstrated in the rewriting engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rewriters import RewriteResult
from rewriters.html import unescape_attr

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
