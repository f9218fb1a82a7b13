"""The relay's own fast paths give exactly what the library paths they replace give."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import assume, given
from hypothesis import strategies as st

from relay.server import RelaySMTP
from relay.upstream import smtp_path, wire_payload

PATHS = [
    "<a@b.com>", "<a@b.com> BODY=8BITMIME", "<a@b.com>  SIZE=10 BODY=8BITMIME", "<>",
    "<a.b+c@x-y.example.org> SIZE=100", " <a@b.com>", '<"a b"@c.com>', "a@b.com",
    "<a..b@c.com>", "<.a@c.com>", "<a.@c.com>", "<a@[1.2.3.4]>", "<jörg@b.de>", "<a@b.com>x",
    "<@route:a@b.com>", "<a@b..com>", "<a@-b.com>", "<a@b.com> ", "<a(comment)@b.com>",
    "<a@b.com", "", "<" + "x" * 70 + "@b.com>",
]


def aiosmtplib_payload(message: bytes) -> bytes:
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"


def parsed(server: SMTP, path: str) -> object:
    """The result, or the exception type (aiosmtpd raises IndexError for a lone ``<``)."""
    try:
        return server._getaddr(path)
    except Exception as exc:
        return type(exc)


def parsers(limit: int) -> tuple[SMTP, SMTP]:
    ours, stock = RelaySMTP.__new__(RelaySMTP), SMTP.__new__(SMTP)
    ours.local_part_limit = stock.local_part_limit = limit
    return ours, stock


def test_plain_and_unusual_paths_parse_as_aiosmtpd_parses_them() -> None:
    for limit in (0, 64):
        ours, stock = parsers(limit)
        for path in PATHS:
            assert parsed(ours, path) == parsed(stock, path), path


@given(st.text(alphabet="ab.<>@ -+\"[]:é", max_size=30))
def test_any_path_parses_as_aiosmtpd_parses_it(path: str) -> None:
    ours, stock = parsers(64)
    assert parsed(ours, path) == parsed(stock, path)


def test_payload_of_a_crlf_message_is_dot_stuffed_and_terminated() -> None:
    message = b".hidden\r\nline\r\n..two\r\n.\r\nend"
    assert wire_payload(message) == b"..hidden\r\nline\r\n...two\r\n..\r\nend\r\n.\r\n"


@given(st.binary(max_size=200) | st.lists(st.sampled_from(
    [b"\r", b"\n", b"\r\n", b".", b"..", b"text", b"\x00", b"\xff"]), max_size=30).map(b"".join))
def test_payload_equals_what_aiosmtplib_data_would_write(message: bytes) -> None:
    assert wire_payload(message) == aiosmtplib_payload(message)


ADDRESSES = ["a@b.com", "<>", "", "a.b+c@x-y.example.org", '"a b"@c.com', "a@[1.2.3.4]",
             "Bob <bob@example.org>", "a..b@c.com", "jörg@b.de", "<a@b.com>", "a@b", "a@b.com "]


def quoted(address: str, encoding: str, ours: bool) -> object:
    """The quoted path, or the exception type (aiosmtplib refuses some addresses)."""
    try:
        return smtp_path(address, encoding) if ours else quote_address(address).encode(encoding)
    except Exception as exc:
        return type(exc)


def test_the_null_sender_is_quoted_as_smtp_wants_it() -> None:
    assert smtp_path("<>", "ascii") == smtp_path("", "ascii") == b"<>"


def test_plain_addresses_are_quoted_as_aiosmtplib_quotes_them() -> None:
    for address in ADDRESSES:
        if address in ("", "<>"):
            continue  # aiosmtplib refuses the null sender; see the test above
        encoding = "utf-8" if not address.isascii() else "ascii"
        assert quoted(address, encoding, True) == quoted(address, encoding, False), address


@given(st.text(alphabet='ab.<>@ -+"[]:', max_size=24))
def test_any_address_is_quoted_as_aiosmtplib_quotes_it(address: str) -> None:
    assume(address not in ("", "<>"))
    assert quoted(address, "ascii", True) == quoted(address, "ascii", False)
