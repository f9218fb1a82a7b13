"""Real relay ``Delivery`` objects with real ``Finding``s, as the rewriting engine reports them.

SAMPLE is the fixed data set the exact-number report tests check (numbers worked out by hand in
``test_report.py``): five senders in four domains, Mailtrack / HubSpot / Mailchimp trackers,
one disclosed (consented) message, one report-mode pilot, one uncleanable signed message, one
store outage, one upstream rejection and one suppressed duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime

from policy.decision import Decision
from relay.contracts import Delivery
from rewriters.treatment import Action, Confidence, Finding, Purpose, Treatment
from store.state import ConsentState, ConsentStatus, PurposeState

OPEN, CLICK = Purpose.OPEN_TRACKING, Purpose.CLICK_TRACKING
HOSTS = {
    "Mailtrack": "mailtrack.io",
    "HubSpot": "t.hubspotemail.net",
    "Mailchimp": "list-manage.com",
}


def finding(vendor: str, kind: str, action: str) -> Finding:
    purpose = OPEN if kind == "open_pixel" else CLICK
    where = "element"
    return Finding(vendor, kind, where, HOSTS[vendor], action, Confidence.VENDOR_RULE, purpose)


def granted(recipient: str, *event_ids: int) -> ConsentState:
    since = datetime(2026, 10, 1, tzinfo=UTC)
    purposes = {
        p.value: PurposeState(ConsentStatus.GRANTED, since, event_id)
        for p, event_id in zip((OPEN, CLICK), event_ids, strict=True)
    }
    return ConsentState(recipient, purposes)


def delivery(
    n: int,
    sender: str,
    recipients: list[str],
    findings: list[Finding] | None = None,
    *,
    action: Action = Action.STRIP,
    rule: str = "default",
    consent: dict[str, ConsentState] | None = None,
    reply: str = "250 2.0.0 Delivered",
    changed: bool = False,
    uncleanable: bool = False,
    duplicate_suppressed: bool = False,
) -> Delivery:
    decisions = [
        Decision(Treatment(action), rule, "0123456789ab",
                 (consent or {}).get(r) or ConsentState.unknown(r), "marketing")
        for r in recipients
    ]
    return Delivery(
        trace_id=f"T{n:04d}", sender=sender, recipients=recipients, decisions=decisions,
        treatment=Treatment(action), findings=findings or [],
        message_id=f"<msg{n}.secret-subject-id@{sender.partition('@')[2]}>",
        reply=reply, rewrite_seconds=0.002, upstream_seconds=0.05 if reply[0] == "2" else 0.0,
        changed=changed, uncleanable=uncleanable, duplicate_suppressed=duplicate_suppressed,
    )


def unreachable(recipient: str) -> dict[str, ConsentState]:
    return {recipient: ConsentState.unknown(recipient, reachable=False)}


HASH_KEY = "audit-test-hash-key"
MT, HS, MC = "Mailtrack", "HubSpot", "Mailchimp"
ALICE, BOB = "alice@sales.acme.example", "bob@news.acme.example"


def sample() -> list[Delivery]:
    f = finding
    return [
        delivery(1, ALICE, ["ann@example.fr"], [f(MT, "open_pixel", "removed")], changed=True),
        delivery(2, ALICE, ["bert@example.de"], [
            f(MT, "open_pixel", "removed"), f(HS, "click_wrapper", "unwrapped"),
            f(HS, "click_wrapper", "unwrapped")], changed=True),
        delivery(3, ALICE, ["carl@example.com", "dora@example.com"],
                 [f(MT, "open_pixel", "removed")], changed=True),
        delivery(4, BOB, ["eve@example.it"], [
            f(MC, "open_pixel", "removed"), *[f(MC, "click_wrapper", "unwrapped")] * 3],
            changed=True),
        delivery(5, BOB, ["fay@example.fr"], [
            f(MC, "open_pixel", "kept"), *[f(MC, "click_wrapper", "kept")] * 2],
            action=Action.DISCLOSE, rule="consented-disclose",
            consent={"fay@example.fr": granted("fay@example.fr", 11, 12)}),
        delivery(6, "dave@pilot.acme.example", ["gus@example.co.uk"],
                 [f(MT, "open_pixel", "reported")], action=Action.REPORT,
                 rule="pilot-report-only"),
        delivery(7, "erin@acme.example", ["hal@example.de"], [f(HS, "open_pixel", "kept")],
                 uncleanable=True),
        delivery(8, "frank@acme.example", ["ida@example.fr"],
                 consent=unreachable("ida@example.fr")),
        delivery(9, "frank@acme.example", ["jon@example.com"],
                 reply="550 5.7.1 upstream says no (T0009)"),
        delivery(10, ALICE, ["ann@example.fr"], [f(MT, "open_pixel", "removed")],
                 reply="250 2.0.0 already delivered (T0010)", duplicate_suppressed=True,
                 changed=True),
    ]


SAMPLE_RECIPIENTS = [r for d in sample() for r in d.recipients]
