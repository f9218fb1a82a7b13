"""The one-pass DATA reader keeps aiosmtpd's semantics on real sockets."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from relay.dataread import _longest_line_exceeds, read_payload, unstuff


async def feed(data: bytes, limit: int | None = None):
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_payload(reader, limit, lambda: None), reader


def test_dot_stuffing_is_undone_on_every_line() -> None:
    assert unstuff(b"..a\r\nb\r\n..\r\n.x\r\n") == b".a\r\nb\r\n.\r\nx\r\n"


async def test_empty_payload_is_an_empty_message() -> None:
    payload, _ = await feed(b".\r\n")
    assert payload.content == b""


async def test_bytes_after_the_terminator_stay_for_the_next_command() -> None:
    payload, reader = await feed(b"Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert payload.content == b"Subject: a\r\n\r\nbody\r\n"
    assert await reader.readline() == b"QUIT\r\n"


async def test_terminator_split_across_chunks_is_found() -> None:
    reader = asyncio.StreamReader()
    payload_task = asyncio.create_task(read_payload(reader, None, lambda: None))
    for piece in (b"Subject: a\r\n\r\nbody\r", b"\n.", b"\r", b"\n"):
        reader.feed_data(piece)
        await asyncio.sleep(0)
    payload = await asyncio.wait_for(payload_task, 2)
    assert payload.content == b"Subject: a\r\n\r\nbody\r\n"


async def test_oversized_payload_is_drained_and_flagged() -> None:
    payload, reader = await feed(b"x" * 500 + b"\r\n" + b"y" * 500 + b"\r\n.\r\nNOOP\r\n", 600)
    assert payload.too_big and payload.content is None
    assert await reader.readline() == b"NOOP\r\n"


async def test_over_long_line_is_flagged() -> None:
    payload, _ = await feed(b"z" * 1200 + b"\r\n.\r\n")
    assert payload.too_long_line and payload.content is None


async def test_disconnect_before_the_terminator_raises() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"Subject: half\r\n")
    reader.feed_eof()
    try:
        await read_payload(reader, None, lambda: None)
    except ConnectionError:
        return
    raise AssertionError("expected ConnectionError")


def line_too_long_reference(data: bytes, limit: int) -> bool:
    """The plain definition: some line, without its CRLF, is longer than ``limit`` octets."""
    return any(len(line) > limit for line in data.split(b"\r\n"))


@given(st.lists(st.sampled_from([b"\r\n", b"\n", b"a", b"bb", b"\r", b"x" * 7]), max_size=60)
       .map(b"".join), st.integers(1, 12))
def test_the_line_length_check_agrees_with_the_plain_definition(data: bytes, limit: int) -> None:
    assert _longest_line_exceeds(data, limit) == line_too_long_reference(data, limit)


async def test_line_limits_are_aiosmtpds_crlf_included() -> None:
    assert (await feed(b"x" * 999 + b"\r\n.\r\n"))[0].content is not None
    assert (await feed(b"x" * 1000 + b"\r\n.\r\n"))[0].too_long_line
    assert (await feed(b"x\n" * 1500 + b"\r\n.\r\n"))[0].too_long_line  # bare LFs
