"""Vendor pixels spelled the way browsers normalise away, and relative pixels under <base href>.

A browser fetches ``https:\\host\\track\\open.php``, ``/track/./open.php``, ``/%74rack/...``
or a host with a newline inside exactly as the plain URL, so the vendor rules must see the
same URL. The normalisation is for matching only: kept URLs stay byte-identical.
"""

from __future__ import annotations

import pytest

from rewriters.decoders import normalise_url
from rewriters.engine import apply
from rewriters.treatment import Action, Purpose, RewriteContext, RewriteResult, Treatment

QUERY = "?u=6a8b1c&amp;id=4f2e9d&amp;e=83b1a2c4d5"


def message(body: str) -> bytes:
    head = (
        "From: Acme Outdoor <news@acme-outdoor.example>\r\n"
        "To: bob@example.org\r\n"
        "Subject: Autumn sale starts today\r\n"
        "Message-ID: <autumn-1@acme-outdoor.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body).encode("utf-8")


def strip(raw: bytes) -> RewriteResult:
    return apply(raw, Treatment(Action.STRIP, strip_purposes=frozenset(Purpose)),
                 RewriteContext(recipient="bob@example.org"))


def page(head: str, img: str) -> str:
    return (f"<html><head>{head}</head><body><p>Up to 40% off tents.</p>{img}"
            "<p>See you outside.</p></body></html>\r\n")


def assert_mailchimp_pixel_removed(head: str, img: str) -> None:
    result = strip(message(page(head, img)))
    assert result.data == message(page(head, ""))
    assert [(f.vendor, f.kind, f.action, f.confidence) for f in result.findings] == [
        ("Mailchimp", "open_pixel", "removed", "vendor_rule")
    ]
    assert result.findings[0].host == "acme.us12.list-manage.com"


def test_backslash_spelling_of_a_vendor_pixel_is_still_removed() -> None:
    src = "https:\\\\acme.us12.list-manage.com\\track\\open.php" + QUERY
    assert_mailchimp_pixel_removed("", f'<img src="{src}" alt="">')


@pytest.mark.parametrize("inside", ["&#10;", "&#9;", "&#13;", "\t", "&NewLine;"])
def test_tab_or_newline_inside_the_host_of_a_vendor_pixel_is_still_removed(inside: str) -> None:
    src = f"https://acme.us12.list-{inside}manage.com/track/open.php" + QUERY
    assert_mailchimp_pixel_removed("", f'<img src="{src}" alt="">')


def test_newline_inside_the_path_of_a_vendor_pixel_is_still_removed() -> None:
    src = "https://acme.us12.list-manage.com/tra&#10;ck/open.php" + QUERY
    assert_mailchimp_pixel_removed("", f'<img src="{src}" alt="">')


@pytest.mark.parametrize("path", [
    "/track/./open.php",
    "/track/x/../open.php",
    "/./track/%2e/open.php",
    "/%74rack/open.php",
    "/track/%6F%70%65%6E.php",
    "//track/open.php",
    "/track//open.php",
])
def test_dot_segments_escapes_and_doubled_slashes_do_not_hide_a_vendor_pixel(path: str) -> None:
    src = "https://acme.us12.list-manage.com" + path + QUERY
    assert_mailchimp_pixel_removed("", f'<img src="{src}" alt="">')


def test_leading_control_characters_and_upper_case_scheme_do_not_hide_a_vendor_pixel() -> None:
    src = "&#1; HTTPS:\\\\ACME.US12.LIST-MANAGE.COM\\track\\open.php" + QUERY
    assert_mailchimp_pixel_removed("", f'<img src="{src}" alt="">')


def test_relative_pixel_under_base_href_is_removed() -> None:
    head = '<base href="https://acme.us12.list-manage.com/">'
    img = f'<img src="track/open.php{QUERY}" width="1" height="1">'
    assert_mailchimp_pixel_removed(head, img)


def test_root_relative_pixel_under_a_backslashed_base_href_is_removed() -> None:
    head = '<base href="https:\\\\acme.us12.list-manage.com\\news\\">'
    img = f'<img src="/track/open.php{QUERY}" alt="">'
    assert_mailchimp_pixel_removed(head, img)


def test_relative_content_image_under_base_href_of_a_cdn_is_kept_byte_identical() -> None:
    head = '<base href="https://cdn.acme-outdoor.example/newsletters/2026-10/">'
    img = ('<img src="images/hero-tent.jpg" width="600" height="300" alt="Tents">'
           '<img src="./images/../images/spacer.gif" width="1" height="1" alt="">')
    raw = message(page(head, img))
    result = strip(raw)
    assert result.data == raw
    assert result.findings == []


def test_base_href_in_a_comment_or_with_another_scheme_resolves_nothing() -> None:
    for head in ('<!-- <base href="https://acme.us12.list-manage.com/"> -->',
                 '<base href="ftp://acme.us12.list-manage.com/">'):
        raw = message(page(head, f'<img src="track/open.php{QUERY}" alt="Logo">'))
        result = strip(raw)
        assert result.data == raw
        assert result.findings == []


def test_kept_urls_are_written_back_as_spelled() -> None:
    img = ('<img src="https://cdn.acme-outdoor.example/img//hero%2Djpg/./a.jpg" '
           'width="600" height="300" alt="">')
    raw = message(page("", img))
    assert strip(raw).data is raw


def test_normalisation_is_bounded_and_leaves_other_schemes_alone() -> None:
    assert normalise_url("mailto:a\\b@example.org") == "mailto:a\\b@example.org"
    assert normalise_url("cid:logo\\1") == "cid:logo\\1"
    assert normalise_url("HTTP:EXAMPLE.COM\\a\\..\\%7Eb?x=%74#y") == "http://example.com/~b?x=%74#y"
    huge = "https://a.example/" + "./" * 100_000
    assert normalise_url(huge) == huge
    long_ok = "https://a.example/" + "a/../" * 12_000 + "b"
    assert normalise_url(long_ok) == "https://a.example/b"
