"""Regressions for defects a review demonstrated in the rewriting engine."""

from __future__ import annotations

from collections.abc import Callable

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
