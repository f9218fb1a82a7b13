"""Real-looking outgoing mail for the end-to-end tests: a sales email carrying HubSpot Sales
tracking (an open pixel and a click wrapper around a real destination)."""

from __future__ import annotations

PIXEL = "https://t.sidekickopen03.com/e1t/o/5/f18dQhb0S7lC8dDMPbW2n0x6l2B9nMJW7t5XZs8"
WRAPPED = "https://t.sidekickopen04.com/e1t/c/5/f18dQhb0?t=https%3A%2F%2Fwww.example.com%2Fpricing&si=5"
DESTINATION = "https://www.example.com/pricing"
SENDER = "alice@sales.example.com"


def tracked_message(message_id: str, recipients: list[str], padding: int = 0) -> bytes:
    """An HTML sales email with a pixel and a wrapped link; ``padding`` adds text bytes."""
    filler = ("<p>" + "Our offer in detail. " * 20 + "</p>\r\n") * (padding // 440 + 1)
    html = (
        "<html><body>\r\n"
        "<p>Hi,</p>\r\n"
        f'<p>Here is the <a href="{WRAPPED}">pricing page</a> we discussed.</p>\r\n'
        + (filler if padding else "")
        + f'<img src="{PIXEL}" width="1" height="1" alt="">\r\n'
        "</body></html>\r\n"
    )
    headers = (
        f"From: Alice <{SENDER}>\r\n"
        f"To: {', '.join(recipients)}\r\n"
        "Subject: Pricing, as promised\r\n"
        "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
    )
    return (headers + "\r\n" + html).encode()
