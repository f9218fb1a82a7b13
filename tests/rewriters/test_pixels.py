"""Generic pixel heuristics, identity hits, and the exemptions that keep real content."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from rewriters import RewriteResult

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]
UNKNOWN = "https://open.unknown-esp.example/x/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.gif"


@pytest.mark.parametrize(
    "attrs",
    [
        'width="1" height="1"',
        'width="0"',
        'width="5" height="5"',
        'style="display:none"',
        'style="visibility:hidden"',
        'style="opacity:0"',
        'style="max-height:0px;"',
        'style="width:1px;height:1px"',
    ],
)
def test_invisible_unknown_image_is_removed(
    html_message: HtmlBuilder, run: Rewrite, attrs: str
) -> None:
    result = run(html_message(f'<p>a</p><img src="https://img.unknown.example/p.gif" {attrs}>'))
    assert result.data == html_message("<p>a</p>")
    assert result.findings[0].confidence == "heuristic"


def test_image_inside_hidden_container_is_removed(html_message: HtmlBuilder, run: Rewrite) -> None:
    body = (
        '<div style="display:none"><span><img src="https://img.unknown.example/a.png"></span></div>'
    )
    assert run(html_message(body)).data == html_message(
        '<div style="display:none"><span></span></div>'
    )


def test_tracking_path_with_token_is_removed_without_dimensions(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    body = '<img src="https://mx.unknown.example/track/open/a8F3kQ9zL2mXw7Yp4RtB6vN1">'
    assert run(html_message(body)).data == html_message("")


@pytest.mark.parametrize(
    "form",
    [
        "alice@example.org",
        "ALICE%40EXAMPLE.ORG",
        base64.b64encode(b"alice@example.org").decode(),
        hashlib.md5(b"alice@example.org").hexdigest(),
        hashlib.sha1(b"alice@example.org").hexdigest(),
        hashlib.sha256(b"alice@example.org").hexdigest(),
    ],
)
def test_recipient_identity_in_image_url_marks_a_tracker(
    html_message: HtmlBuilder, run: Rewrite, form: str
) -> None:
    body = f'<img src="https://cdn.unknown.example/banner.jpg?u={form}" width="600" height="200">'
    result = run(html_message(body))
    assert result.data == html_message("")
    assert result.findings[0].confidence == "identity_hit"


@pytest.mark.parametrize(
    "src",
    [
        "cid:logo@shop",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "https://cdn.shop.example/spacer.gif",
    ],
)
def test_inline_data_and_spacer_images_are_kept(
    html_message: HtmlBuilder, run: Rewrite, src: str
) -> None:
    raw = html_message(f'<img src="{src}" width="1" height="1">')
    assert run(raw).data == raw


def test_url_repeated_five_times_is_a_spacer(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message('<img src="https://cdn.shop.example/px.png" width="1" height="1">' * 5)
    assert run(raw).data == raw


def test_host_that_serves_real_images_is_exempt(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message(
        '<img src="https://cdn.shop.example/hero.jpg" width="600" height="300">'
        '<img src="https://cdn.shop.example/line.png" width="1" height="1">'
    )
    assert run(raw).data == raw


def test_vendor_rule_overrides_the_real_image_host_exemption(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<img src="https://r.superhuman.com/logo.png" width="100" height="40">'
        '<img src="https://r.superhuman.com/AbCdEf12345.gif">'
    )
    assert b"superhuman" not in run(raw).data


def test_real_sized_unknown_image_is_kept(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message(f'<img src="{UNKNOWN}" width="600" height="300" alt="Hero">')
    assert run(raw).data == raw


def test_pixel_behind_a_webmail_image_proxy_is_found(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    proxied = (
        "https://ci3.googleusercontent.com/proxy/AbCdEf=s0-d-e1-ft"
        "#https://mandrillapp.com/track/open.php?u=1&amp;id=2"
    )
    result = run(html_message(f'<p>Quoted:</p><img src="{proxied}">'))
    assert result.data == html_message("<p>Quoted:</p>")
    assert result.findings[0].vendor == "Mandrill"


def test_unclosed_hiding_container_does_not_hide_the_rest_of_the_mail(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<p style="display:none">preheader<table><tr><td>'
        '<img src="https://img.unknown.example/hero.jpg"></td></tr></table>'
    )
    assert run(raw).data == raw


def test_mobile_only_block_keeps_images_from_the_content_host(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<img src="https://cdn.shop.example/desktop.jpg" width="600" height="300">'
        '<div class="mobile" style="display:none;max-height:0;overflow:hidden">'
        '<img src="https://cdn.shop.example/mobile.jpg" width="320"></div>'
    )
    assert run(raw).data == raw


def test_content_image_under_a_tracking_looking_path_is_kept(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<img src="https://img.estate.example/open-house/a8F3kQ9zL2mXw7Yp4RtB6vN1.jpg">'
        '<img src="https://img.estate.example/open/a8F3kQ9zL2mXw7Yp4RtB6vN2.jpg" width="600"'
        ' height="400">'
    )
    assert run(raw).data == raw
