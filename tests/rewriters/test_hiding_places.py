"""One test per place a tracker can hide (issue 3, "Where trackers hide")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rewriters import RewriteResult

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]

PIXEL = "https://acme.us12.list-manage.com/track/open.php?u=1&amp;id=2"
CSS_PIXEL = "https://a1b2c3d4.emltrk.com/v2/a1b2c3d4?d=sub1"
CDN = "https://cdn.shop.example/hero.jpg"

CASES = [
    ("img_src", f'<p>a</p><img src="{PIXEL}" width="1" height="1"><p>b</p>', "<p>a</p><p>b</p>"),
    (
        "img_srcset",
        f'<img src="{CDN}" srcset="{CDN} 1x, {PIXEL} 2x">',
        f'<img src="{CDN}" srcset="{CDN} 1x">',
    ),
    (
        "picture_source",
        f'<picture><source srcset="{PIXEL}"><img src="{CDN}"></picture>',
        f'<picture><img src="{CDN}"></picture>',
    ),
    (
        "background_attr",
        f'<table><tr><td background="{PIXEL}" width="600">x</td></tr></table>',
        '<table><tr><td width="600">x</td></tr></table>',
    ),
    (
        "input_image",
        f'<form><input type="image" src="{PIXEL}"><input name="q"></form>',
        '<form><input name="q"></form>',
    ),
    (
        "video_poster",
        f'<video poster="{PIXEL}" src="https://cdn.shop.example/v.mp4"></video>',
        '<video src="https://cdn.shop.example/v.mp4"></video>',
    ),
    ("audio_src", f'<audio src="{PIXEL}"></audio>', "<audio></audio>"),
    ("video_src", f'<video src="{PIXEL}" width="1"></video>', '<video width="1"></video>'),
    ("iframe", f'<iframe src="{PIXEL}" width="0"></iframe>', '<iframe width="0"></iframe>'),
    ("object", f'<object data="{PIXEL}"></object>', "<object></object>"),
    ("embed", f'<embed src="{PIXEL}" type="image/gif">', '<embed type="image/gif">'),
    ("meta_refresh", f'<meta http-equiv="refresh" content="0;url={PIXEL}"><p>x</p>', "<p>x</p>"),
    ("link_stylesheet", f'<link rel="stylesheet" href="{CSS_PIXEL}"><p>x</p>', "<p>x</p>"),
    ("link_preload", f'<link rel="preload" as="image" href="{PIXEL}"><p>x</p>', "<p>x</p>"),
    ("link_prefetch", f'<link rel="prefetch" href="{PIXEL}"><p>x</p>', "<p>x</p>"),
    (
        "link_dns_prefetch",
        '<link rel="dns-prefetch" href="//a1b2c3d4.emltrk.com"><p>x</p>',
        "<p>x</p>",
    ),
    (
        "style_attr",
        f'<div style="color:red; background-image:url({CSS_PIXEL}); margin:0">x</div>',
        '<div style="color:red;  margin:0">x</div>',
    ),
    (
        "style_import",
        f'<style>@import url("{CSS_PIXEL}");\np{{color:red}}</style>',
        "<style>\np{color:red}</style>",
    ),
    (
        "style_font_face",
        f"<style>@font-face{{font-family:X;src:url({CSS_PIXEL})}}</style>",
        "<style>@font-face{font-family:X;}</style>",
    ),
    (
        "media_print",
        f"<style>@media print{{#_t{{background-image:url('{CSS_PIXEL}&p')}}}}</style>",
        "<style>@media print{#_t{}}</style>",
    ),
    (
        "color_scheme",
        "<style>@media (prefers-color-scheme: dark){#_t::before{content:url("
        f"'{CSS_PIXEL}&rd')}}}}</style>",
        "<style>@media (prefers-color-scheme: dark){#_t::before{}}</style>",
    ),
    (
        "forward_selector",
        "<style>blockquote #_t{background-image:url('https://t.unknown.example/f.gif')}</style>",
        "<style>blockquote #_t{}</style>",
    ),
    (
        "vml_fill",
        f'<!--[if gte mso 9]><v:fill type="tile" src="{PIXEL}" /><![endif]-->',
        '<!--[if gte mso 9]><v:fill type="tile" /><![endif]-->',
    ),
    (
        "vml_image",
        f'<!--[if mso]><v:image src="{PIXEL}" style="width:1px" /><![endif]-->',
        '<!--[if mso]><v:image style="width:1px" /><![endif]-->',
    ),
    (
        "html_img_in_conditional_comment",
        f'<!--[if mso]><table><tr><td><img src="{PIXEL}"></td></tr></table><![endif]-->',
        "<!--[if mso]><table><tr><td></td></tr></table><![endif]-->",
    ),
]


@pytest.mark.parametrize(("case", "before", "after"), CASES, ids=[c[0] for c in CASES])
def test_tracker_in_hiding_place_is_removed_and_nothing_else(
    html_message: HtmlBuilder, run: Rewrite, case: str, before: str, after: str
) -> None:
    raw = html_message(f"<html><body>{before}</body></html>\r\n")
    result = run(raw)
    assert result.data == html_message(f"<html><body>{after}</body></html>\r\n")
    assert result.findings and all(f.action == "removed" for f in result.findings)


def test_vml_roundrect_link_is_unwrapped_inside_the_conditional_comment(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    wrapped = "https://1a2b.r.us-east-1.awstrack.me/L0/https:%2F%2Fshop.example%2Fsale/1/abc/x=1"
    body = (
        f'<!--[if mso]><v:roundrect href="{wrapped}" arcsize="10%"><center>Buy</center>'
        "</v:roundrect><![endif]-->"
    )
    result = run(html_message(body))
    assert result.data == html_message(
        '<!--[if mso]><v:roundrect href="https://shop.example/sale" arcsize="10%"><center>Buy'
        "</center></v:roundrect><![endif]-->"
    )
    assert result.findings[0].where == "comment"


def test_legitimate_vml_background_image_stays(html_message: HtmlBuilder, run: Rewrite) -> None:
    raw = html_message(f'<!--[if gte mso 9]><v:fill type="tile" src="{CDN}" /><![endif]-->')
    assert run(raw).data == raw


def test_remote_google_font_is_not_treated_as_a_tracker(
    html_message: HtmlBuilder, run: Rewrite
) -> None:
    raw = html_message(
        '<style>@import url("https://fonts.googleapis.com/css?family=Lato");'
        "@font-face{src:url(https://fonts.gstatic.com/s/lato.woff2)}</style>"
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?f=Roboto">'
    )
    assert run(raw).data == raw
