"""CSS scanning: spans that remove exactly one declaration or rule."""

from __future__ import annotations

from rewriters.css import declaration_urls, loading_rules, top_level_rules


def test_top_level_rules_respect_strings_and_comments() -> None:
    css = '@import url("a.css"); /* c { } */ a{content:"}"} @media print{#t{b:url(x)}} b{c:d}'
    assert [css[a:b].strip() for a, b in top_level_rules(css)] == [
        '@import url("a.css");',
        '/* c { } */ a{content:"}"}',
        "@media print{#t{b:url(x)}}",
        "b{c:d}",
    ]


def test_unterminated_string_comment_and_block_end_the_scan_cleanly() -> None:
    for css in ('a{content:"never closed', "a{b:c} /* never closed", "@media print{a{b:url(x)"):
        spans = top_level_rules(css)
        assert spans[-1][1] == len(css)


def test_only_loading_rules_are_reported_with_declaration_spans() -> None:
    css = "p{color:red} .x{ color:blue; background:url('https://t.example/p.gif') no-repeat }"
    found = loading_rules(css, base=100)
    assert [(f.url, css[f.start - 100 : f.end - 100]) for f in found] == [
        ("https://t.example/p.gif", "background:url('https://t.example/p.gif') no-repeat")
    ]


def test_declaration_without_url_costs_no_parse() -> None:
    assert declaration_urls("color:red;font-size:12px") == []
