from rewriters.headers import get_values, header_end, parse_fields, prepend_fields, remove_fields

MESSAGE = (
    b"Received: from a\r\n\tby b\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
    b"Disposition-Notification-To: boss@example.com\r\n"
    b"Return-Receipt-To: boss@example.com,\r\n  other@example.com\r\n"
    b"\r\nbody\r\n"
)


def test_folded_fields_are_parsed_as_one_field() -> None:
    names = [f.name for f in parse_fields(MESSAGE)]
    assert names == ["received", "subject", "disposition-notification-to", "return-receipt-to"]
    assert get_values(MESSAGE, "Return-Receipt-To") == ["boss@example.com, other@example.com"]


def test_removing_fields_keeps_every_other_byte() -> None:
    out, removed = remove_fields(MESSAGE, ["return-receipt-to", "disposition-notification-to"])
    assert removed == ["disposition-notification-to", "return-receipt-to"]
    assert out == (
        b"Received: from a\r\n\tby b\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n\r\nbody\r\n"
    )


def test_removing_absent_fields_returns_the_same_object() -> None:
    out, removed = remove_fields(MESSAGE, ["x-nothing"])
    assert out is MESSAGE and removed == []


def test_prepended_fields_use_the_message_line_ending() -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    assert prepend_fields(lf, [("X-Consent-Relay-Trace", "t1")]).startswith(
        b"X-Consent-Relay-Trace: t1\nReceived"
    )


def test_header_end_points_at_the_body() -> None:
    assert MESSAGE[header_end(MESSAGE) :] == b"body\r\n"
    assert header_end(b"Subject: no body") == len(b"Subject: no body")
