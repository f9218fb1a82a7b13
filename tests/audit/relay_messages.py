"""Tracked messages for the end-to-end audit tests, as the real rewriting engine sees them."""

from __future__ import annotations

from dataclasses import dataclass

MAILTRACK = '<img src="https://mailtrack.io/trace/mail/abc.png?u=1" width="1" height="1">'
MAILCHIMP = (
    '<img src="https://acme.us12.list-manage.com/track/open.php?u=6a8b1c&id=4f2e9d&e=83b1a2c4d5"'
    ' width="1" height="1">'
    '<a href="https://acme.us12.list-manage.com/track/click?u=6a8b1c&id=4f2e9d&e=83b1a2c4d5">'
    "Offer</a>"
)
HUBSPOT = (
    '<a href="https://d2v8tf04.na1.hubspotlinks.com/Ctc/xx+113/d2v8tf04/VWd7Hg3tbPrLW1kYx0n">'
    "Pricing</a> "
    '<a href="https://t.sidekickopen04.com/e1t/c/5/f18dQhb0?t=https%3A%2F%2Fwww.example.com'
    '%2Fpricing&si=5">More</a>'
)


@dataclass(frozen=True)
class Outgoing:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    tracking: str

    def raw(self, n: int) -> bytes:
        to = ", ".join(f"<{r}>" for r in self.recipients)
        return (
            f"From: <{self.sender}>\r\nTo: {to}\r\nSubject: {self.subject}\r\n"
            f"Message-ID: <m{n}.zqxmsgid@{self.sender.partition('@')[2]}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"<html><body><p>Body text only the recipient may read ({n}).</p>{self.tracking}"
            "</body></html>\r\n"
        ).encode()


ALICE, BOB = "alice@sales.acme.example", "bob@news.acme.example"
PILOT = "dave@pilot.acme.example"
OUTGOING = (
    Outgoing(ALICE, ("ann.private@example.fr",), "Secret merger plans", MAILTRACK),
    Outgoing(ALICE, ("bert.private@example.de",), "Salary review for Bert", MAILTRACK + HUBSPOT),
    Outgoing(BOB, ("eve.private@example.it", "fay.private@example.fr"), "Winter sale", MAILCHIMP),
    Outgoing("carol@acme.example", ("gus.private@example.co.uk",), "Lunch on Friday?", ""),
    Outgoing(PILOT, ("hal.private@example.com",), "Pilot offer for Hal", MAILTRACK),
)
RECIPIENTS = [r for m in OUTGOING for r in m.recipients]
SUBJECTS = [m.subject for m in OUTGOING]
