"""Byte-level MIME walking and re-encoding: only edited parts change, in their own encoding."""

from __future__ import annotations

import base64
import email
import quopri
from collections.abc import Callable

import pytest

from rewriters import RewriteResult
from rewriters.charsets import decode
from rewriters.mime import parse

Rewrite = Callable[..., RewriteResult]
PIXEL = '<img src="https://mandrillapp.com/track/open.php?u=1&amp;id=2" width="1" height="1">'


def _message(body: bytes, charset: str, cte: str) -> bytes:
    return (
        b"From: a@shop.example\r\nTo: alice@example.org\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\npreamble\r\n--m\r\n'
        + f"Content-Type: text/html; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode()
        + body
        + b"\r\n--m\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: "
        b"base64\r\n\r\nJVBERi0xLjQK\r\n--m--\r\nepilogue\r\n"
    )


@pytest.mark.parametrize(
    "charset",
    [
        "utf-8",
        "iso-8859-1",
        "iso-8859-15",
        "windows-1252",
        "iso-2022-jp",
        "gb2312",
        "gbk",
        "shift_jis",
    ],
)
@pytest.mark.parametrize("cte", ["8bit", "quoted-printable", "base64"])
def test_charset_and_transfer_encoding_round_trip(run: Rewrite, charset: str, cte: str) -> None:
    sample = {
        "iso-2022-jp": "日本語のテキスト",
        "gb2312": "简体中文",
        "gbk": "简体中文",
        "shift_jis": "日本語表示",
    }.get(charset, "Café – déjà vu")
    if charset == "iso-8859-1":
        sample = "Café déjà vu"
    elif charset == "iso-8859-15":
        sample = "Café € œuvre"
    html = f"<html><body><p>{sample}</p>{PIXEL}<p>{sample}</p></body></html>\r\n"
    encoded = html.encode(charset)
    body = {
        "8bit": encoded,
        "quoted-printable": quopri.encodestring(encoded),
        "base64": base64.encodebytes(encoded).replace(b"\n", b"\r\n"),
    }[cte]
    result = run(_message(body, charset, cte))
    part = next(
        p
        for p in email.message_from_bytes(result.data).walk()
        if p.get_content_type() == "text/html"
    )
    text = part.get_payload(decode=True).decode(charset)
    assert text == html.replace(PIXEL, "")
    assert result.data.endswith(b"JVBERi0xLjQK\r\n--m--\r\nepilogue\r\n")
    assert result.data.startswith(_message(body, charset, cte)[:150])


def test_base64_part_keeps_its_line_length(run: Rewrite) -> None:
    html = ("<p>" + "x" * 500 + "</p>" + PIXEL).encode()
    body = base64.encodebytes(html).replace(b"\n", b"\r\n")
    result = run(_message(body, "utf-8", "base64"))
    lines = result.data.split(b"\r\n\r\n", 2)[2].split(b"\r\n--m")[0].split(b"\r\n")
    assert max(len(line) for line in lines) == 76


def test_quoted_printable_lines_stay_within_76_characters(run: Rewrite) -> None:
    html = ("<p>" + "é" * 300 + "</p>" + PIXEL).encode()
    result = run(_message(quopri.encodestring(html), "utf-8", "quoted-printable"))
    body = result.data.split(b"\r\n\r\n", 2)[2].split(b"\r\n--m")[0]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_unchanged_parts_are_copied_byte_for_byte(run: Rewrite) -> None:
    raw = _message(b"<p>weird   spacing &nbsp; <B>CAPS</B></p>" + PIXEL.encode(), "utf-8", "8bit")
    result = run(raw)
    assert result.data == raw.replace(PIXEL.encode(), b"")


def test_part_that_does_not_decode_is_left_alone_and_reported(run: Rewrite) -> None:
    raw = _message(b"\x1b$B\xff\xfe" + PIXEL.encode(), "iso-2022-jp", "8bit")
    result = run(raw)
    assert result.data == raw and result.uncleanable


def test_walker_finds_parts_without_reserialising() -> None:
    raw = _message(b"<p>x</p>", "utf-8", "8bit")
    root = parse(raw)
    html, pdf = root.children
    assert html.ctype == "text/html" and raw[html.body_start : html.end] == b"<p>x</p>"
    assert pdf.ctype == "application/pdf" and pdf.cte == "base64"


def test_mislabelled_latin1_text_survives_as_bytes() -> None:
    decoded = decode("Grüße".encode(), "us-ascii")
    assert decoded is not None and decoded.text == "Grüße" and decoded.guessed


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
@pytest.mark.parametrize("tail", [b"", b"last line without newline " * 9])
def test_chunked_transfer_encoding_matches_one_pass_encoding(eol: bytes, tail: bytes) -> None:
    import binascii

    from rewriters.mime import _base64, _quoted_printable

    data = (("<p>café " * 30).encode() + eol) * 2_000 + tail
    assert bytes(_quoted_printable(data)) == binascii.b2a_qp(data, istext=True)
    encoded = binascii.b2a_base64(data, newline=False)
    expected = eol.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert bytes(_base64(data, 76, eol)) == expected


def test_piecewise_encoding_of_a_stateful_charset_matches_whole_text_encoding() -> None:
    from rewriters.charsets import encode_spliced

    text = "日本語<img src=x>テキスト" * 5_000
    decoded = decode(text.encode("iso-2022-jp"), "iso-2022-jp")
    assert decoded is not None
    edits = [(m, m + 11, "") for m in range(3, len(text), len("日本語<img src=x>テキスト"))]
    expected = text.replace("<img src=x>", "").encode("iso-2022-jp")
    assert bytes(encode_spliced(decoded, edits, True) or b"") == expected
