"""The body starts after the first blank line, whichever line ending the message uses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rewriters.headers import header_end


def header_end_reference(raw: bytes) -> int:
    if raw.startswith((b"\r\n", b"\n")):
        return 2 if raw.startswith(b"\r\n") else 1
    ends = [i + 4 for i in [raw.find(b"\r\n\r\n")] if i >= 0]
    ends += [i + 2 for i in [raw.find(b"\n\n")] if i >= 0]
    return min(ends) if ends else len(raw)


def test_crlf_and_lf_messages_have_their_body_found() -> None:
    assert header_end(b"A: 1\r\nB: 2\r\n\r\nbody\n\nmore") == 14
    assert header_end(b"A: 1\nB: 2\n\nbody\r\n\r\n") == 11
    assert header_end(b"A: 1\r\n\nbody") == 7


@given(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"A: 1", b"x"]), max_size=40)
       .map(b"".join))
def test_the_body_start_agrees_with_searching_both_line_endings(raw: bytes) -> None:
    assert header_end(raw) == header_end_reference(raw)
