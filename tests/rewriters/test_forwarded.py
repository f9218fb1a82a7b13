"""Forwarded messages stay byte-for-byte, but their trackers are reported."""

from __future__ import annotations

from rewriters.engine import apply
from rewriters.treatment import Action, Purpose, RewriteContext, Treatment

FORWARD = (
    b"From: anna@example.org\r\nTo: bob@example.net\r\nSubject: Fwd: newsletter\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
    b"--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee below.\r\n"
    b"--outer\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: news@shop.example\r\nSubject: Sale\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p>Sale!</p><img src="https://shop.us12.list-manage.com/track/open.php?u=1&id=2&e=3"'
    b' width="1" height="1">\r\n'
    b"--outer--\r\n"
)
STRIP = Treatment(Action.STRIP, strip_purposes=frozenset(Purpose))


def test_pixel_in_a_forwarded_message_is_reported_and_the_forward_left_untouched() -> None:
    result = apply(FORWARD, STRIP, RewriteContext(recipient="bob@example.net"))
    assert result.data is FORWARD
    forwarded = [f for f in result.findings if f.where.startswith("forwarded")]
    assert [(f.vendor, f.kind, f.action) for f in forwarded] == [
        ("Mailchimp", "open_pixel", "reported")
    ]
    assert "message/rfc822 attachment left untouched" in result.notes


def test_forwards_nested_deeper_than_the_limit_are_not_scanned() -> None:
    nested = FORWARD
    for level in range(4):
        b = f"level{level}".encode()
        nested = (b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\r\n\r\n--" + b
                  + b"\r\nContent-Type: message/rfc822\r\n\r\n" + nested + b"\r\n--" + b
                  + b"--\r\n")
    result = apply(nested, STRIP, RewriteContext(recipient="bob@example.net"))
    assert result.data is nested
    assert not any(f.vendor == "Mailchimp" for f in result.findings)
