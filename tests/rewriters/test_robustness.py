"""No input makes the engine raise, hang or lose content (issue 3, "Change only what must
change")."""

from __future__ import annotations

import email
import html
import re
import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewriters import Action, RewriteContext, RewriteResult, Treatment, apply

GUARD_SECONDS = 30.0
HEAD = (
    b"From: a@shop.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
)


def finishes(raw: bytes, action: Action = Action.STRIP) -> RewriteResult:
    """Run the engine in a thread and fail (instead of hanging the suite) if it takes too long."""
    box: list[RewriteResult] = []
    worker = threading.Thread(
        target=lambda: box.append(
            apply(raw, Treatment(action), RewriteContext(recipient="alice@example.org"))
        ),
        daemon=True,
    )
    worker.start()
    worker.join(GUARD_SECONDS)
    assert not worker.is_alive(), "engine did not finish in time"
    assert box, "engine raised inside the thread"
    return box[0]


def _nested_multipart(depth: int) -> bytes:
    pieces = [b"From: a@shop.example\r\nMIME-Version: 1.0\r\n"]
    for level in range(depth):
        pieces.append(
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
        )
    pieces.append(
        b'Content-Type: text/html\r\n\r\n<img src="https://mandrillapp.com/track/'
        b'open.php?u=1" width=1 height=1>\r\n'
    )
    return b"".join(pieces)


ADVERSARIAL: list[tuple[str, Callable[[], bytes]]] = [
    ("url_with_100k_dots", lambda: HEAD + b'<img src="https://' + b"a." * 50_000 + b'com/x">'),
    (
        "href_100k_chars",
        lambda: HEAD + b'<a href="https://x.example/?' + b"q=1&" * 25_000 + b'">x</a>',
    ),
    (
        "plain_text_long_url",
        lambda: (
            HEAD.replace(b"text/html", b"text/plain")
            + b"https://"
            + b"a." * 60_000
            + b"com/"
            + b"x" * 100_000
        ),
    ),
    (
        "html_nesting_50000_deep",
        lambda: (
            HEAD + b"<div>" * 50_000 + b'<img src="https://t.yesware.com'
            b'/t/1/2/spacer.gif">' + b"</div>" * 50_000
        ),
    ),
    ("multipart_nesting_50000_deep", lambda: _nested_multipart(50_000)),
    ("one_5mb_line", lambda: HEAD + b"<p>" + b"x" * 5_000_000),
    ("unterminated_comments", lambda: HEAD + b"<!--[if mso]>" * 20_000),
    ("unterminated_quotes", lambda: HEAD + b'<a href="x ' * 20_000 + b"<img src='y " * 20_000),
    ("huge_style_block", lambda: HEAD + b"<style>" + b"a{b:url(x)}" * 400_000 + b"</style>"),
    (
        "many_large_style_attrs",
        lambda: HEAD + (b'<p style="' + b"background:url(x);" * 850 + b'">x</p>') * 300,
    ),
    ("unclosed_hiding_containers", lambda: HEAD + b'<div style="display:none"><p>x</p>' * 40_000),
    ("open_tags_full_of_trigger_words", lambda: HEAD + b"<x url( background= " * 30_000),
    ("angle_brackets", lambda: HEAD + b"<" * 200_000 + b"<a" * 100_000),
    (
        "css_deep_blocks",
        lambda: HEAD + b"<style>" + b"@media print{" * 20_000 + b"a{b:url(x)}</style>",
    ),
    (
        "style_attr_many_urls",
        lambda: HEAD + b'<div style="' + b"background:url(x);" * 20_000 + b'">',
    ),
]


@pytest.mark.parametrize(("name", "make"), ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_adversarial_input_finishes_quickly(name: str, make: Callable[[], bytes]) -> None:
    result = finishes(make())
    assert isinstance(result.data, bytes)


def test_20_mb_html_part_is_cleaned() -> None:
    chunk = (
        b'<tr><td style="padding:4px"><a href="https://shop.example/p">Product</a></td></tr>\r\n'
    )
    raw = (
        HEAD
        + b"<table>"
        + chunk * (20_000_000 // len(chunk))
        + b'<img src="https://mandrillapp.com/track/open.php?u=1" width=1 height=1></table>'
    )
    result = finishes(raw)
    assert b"mandrillapp" not in result.data and len(result.data) > 20_000_000


MALFORMED = [
    ("missing_boundary_param", b"Content-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n"),
    (
        "duplicate_boundary",
        b'Content-Type: multipart/mixed; boundary="d"\r\n\r\n--d\r\n'
        b'Content-Type: multipart/alternative; boundary="d"\r\n\r\n--d\r\n--d--\r\n--d--\r\n',
    ),
    (
        "invalid_base64",
        b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!****====abc",
    ),
    (
        "invalid_qp",
        b"Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"=ZZ=\r\n<img src=3D=\r\n",
    ),
    (
        "nul_bytes",
        b'Content-Type: text/html\r\n\r\n<img\x00 src="\x00https://t.yesware.com/t/1">\x00',
    ),
    ("no_header_end", b"Content-Type: text/html"),
    ("empty", b""),
    ("binary_garbage", bytes(range(256)) * 40),
    (
        "unknown_charset",
        b'Content-Type: text/html; charset=x-klingon\r\n\r\n<img src="https://'
        b'mandrillapp.com/track/open.php?u=1">',
    ),
    (
        "broken_markup",
        b"Content-Type: text/html\r\n\r\n<img src=https://mandrillapp.com/track/"
        b"open.php?u=1 <a href='<<>>'><</p></table><style>a{",
    ),
]


@pytest.mark.parametrize(("name", "raw"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_message_never_raises_and_still_parses(name: str, raw: bytes) -> None:
    for action in Action:
        result = finishes(raw, action)
        assert email.message_from_bytes(result.data) is not None


# --- property-based ---------------------------------------------------------------------------

SAFE_URLS = st.sampled_from(
    [
        "https://shop.example/a",
        "https://cdn.shop.example/hero.jpg",
        "https://www.example.com/x?id=5",
        "https://docs.example.net/guide#top",
    ]
)
TRACKERS = st.sampled_from(
    [
        "https://acme.us12.list-manage.com/track/open.php?u=1&amp;id=2",
        "https://mandrillapp.com/track/open.php?u=1",
        "https://a1.emltrk.com/v2/a1?d=1",
    ]
)
WORDS = st.text(
    alphabet=st.characters(categories=["L", "N"], max_codepoint=0x30FF), min_size=1, max_size=12
)


@st.composite
def html_documents(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    pieces, urls, words = [], [], []
    for _ in range(draw(st.integers(1, 12))):
        choice = draw(st.integers(0, 5))
        word = draw(WORDS)
        words.append(word)
        if choice == 0:
            url = draw(SAFE_URLS)
            urls.append(url)
            pieces.append(f'<a href="{url}">{word}</a>')
        elif choice == 1:
            pieces.append(f'<img src="{draw(TRACKERS)}" width="1" height="1"><p>{word}</p>')
        elif choice == 2:
            url = draw(SAFE_URLS)
            urls.append(url)
            pieces.append(f'<img src="{url}" width="300" height="200" alt="{word}">')
        elif choice == 3:
            pieces.append(f"<div><table><tr><td>{word}</td></tr></table>")
        elif choice == 4:
            pieces.append(f'<!--[if mso]><v:fill src="{draw(TRACKERS)}"/><![endif]--><b>{word}</b>')
        else:
            pieces.append(f'<p style="color:red;background:url({draw(TRACKERS)})">{word}</p>')
    return "<html><body>" + "".join(pieces) + "</body></html>\r\n", urls, words


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, list[str], list[str]]:
    document, urls, words = draw(html_documents())
    charset = draw(st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "gbk"]))
    cte = draw(st.sampled_from(["8bit", "quoted-printable", "base64"]))
    body = document.encode(charset, "xmlcharrefreplace")
    if cte == "base64":
        import base64

        body = base64.encodebytes(body).replace(b"\n", b"\r\n")
    elif cte == "quoted-printable":
        import quopri

        body = quopri.encodestring(body)
    head = (
        f"From: a@shop.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="zz"\r\n\r\n--zz\r\n'
        f"Content-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode() + body + b"\r\n--zz--\r\n", urls, words


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.sampled_from(list(Action)))
def test_generated_messages_keep_every_safe_url_and_every_word(
    case: tuple[bytes, list[str], list[str]], action: Action
) -> None:
    raw, urls, words = case
    result = apply(raw, Treatment(action), RewriteContext(recipient="alice@example.org"))
    parsed = email.message_from_bytes(result.data)
    html_part = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    text = html_part.get_payload(decode=True).decode(html_part.get_content_charset() or "utf-8")
    for url in urls:
        assert url in text
    for word in words:
        assert word in html.unescape(text)
    if action in (Action.STRIP,):
        assert "list-manage.com/track" not in text and "emltrk" not in text


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(list(Action)))
def test_random_bytes_never_raise(raw: bytes, action: Action) -> None:
    result = apply(HEAD + raw, Treatment(action), RewriteContext(recipient="alice@example.org"))
    assert email.message_from_bytes(result.data) is not None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="<>/=\"'!-[] abcdimgsrcstylehref:urlhttps.#{};()\n", max_size=400))
def test_random_markup_keeps_every_text_node_outside_removed_tags(markup: str) -> None:
    raw = HEAD + markup.encode()
    result = apply(raw, Treatment(Action.STRIP), RewriteContext(recipient="alice@example.org"))
    if result.data != raw:
        visible_before = re.sub(r"<[^<>]*>", "", markup)
        visible_after = re.sub(r"<[^<>]*>", "", result.data[len(HEAD) :].decode())
        assert len(visible_after) >= len(visible_before) - 4 * raw.count(b"url(")


@st.composite
def mime_trees(draw: st.DrawFn, depth: int = 0) -> tuple[bytes, list[str]]:
    """A random MIME entity (headers + body) and the safe URLs its text parts contain."""
    kind = draw(
        st.sampled_from(
            ["html", "plain", "image", "multipart"] if depth < 3 else ["html", "plain", "image"]
        )
    )
    if kind == "multipart":
        boundary = f"b{depth}-{draw(st.integers(0, 999))}"
        children = [draw(mime_trees(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
        sub = draw(st.sampled_from(["mixed", "alternative", "related"]))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c, _ in children)
        head = f'Content-Type: multipart/{sub}; boundary="{boundary}"\r\n\r\n'.encode()
        closing = b"--" + boundary.encode() + b"--" if draw(st.booleans()) else b""
        return head + body + closing, [u for _, urls in children for u in urls]
    if kind == "image":
        return (
            b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=",
            [],
        )
    document, urls, _ = draw(html_documents())
    if kind == "plain":
        url = draw(SAFE_URLS)
        document, urls = f"See {url} and https://t.yesware.com/t/1/2/x.gif\r\n", [url]
    cte = draw(st.sampled_from(["7bit", "quoted-printable", "base64"]))
    data = document.encode("utf-8")
    if cte == "base64":
        import base64

        data = base64.encodebytes(data).replace(b"\n", b"\r\n")
    elif cte == "quoted-printable":
        import quopri

        data = quopri.encodestring(data)
    head = (
        f"Content-Type: text/{'html' if kind == 'html' else 'plain'}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode() + data, urls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees(), st.sampled_from(list(Action)))
def test_generated_mime_trees_keep_safe_urls_and_still_parse(
    tree: tuple[bytes, list[str]], action: Action
) -> None:
    entity, urls = tree
    raw = b"From: a@shop.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n" + entity
    result = apply(raw, Treatment(action), RewriteContext(recipient="alice@example.org"))
    parsed = email.message_from_bytes(result.data)
    texts = [p.get_payload(decode=True) or b"" for p in parsed.walk() if not p.is_multipart()]
    everything = html.unescape(b"\n".join(texts).decode("utf-8", "replace"))
    for url in urls:
        assert url in everything


def test_css_too_large_to_scan_is_reported_as_uncleanable() -> None:
    raw = HEAD + b"<style>" + b"a{b:url(https://x.example/y)}" * 30_000 + b"</style>"
    result = finishes(raw)
    assert result.uncleanable and any("not scanned" in note for note in result.notes)
