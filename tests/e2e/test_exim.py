"""Exim as the organisation's MTA: a manualroute router sends outgoing mail to consent-relay.

Every test runs a private Exim (tests/e2e/exim.py, unpacked from Debian's packages, never
installed), the relay as a subprocess and a capture sink, all on loopback ephemeral ports.
Bounded waits everywhere. The first test checks that docs/deployment.md shows exactly the
recipe the others run; it needs no Exim.
"""

from __future__ import annotations

import collections
import re
import smtplib
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from exim import (  # noqa: F401  (fixtures are used by name)
    EximInstance,
    exim_fixture,
    exim_install_fixture,
    exim_max_rcpt_fixture,
    exim_recipe,
    exim_relay_factory_fixture,
    requires_root,
)
from postfix import sink_fixture, topology_fixture  # noqa: F401  (fixtures are used by name)
from relay_process import RelayFactory, RelayProcess, grant
from sink import Sink
from tracked_mail import DESTINATION, PIXEL, SENDER, WRAPPED, tracked_message

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"

def test_deployment_doc_exim_block_is_the_tested_recipe() -> None:
    text = DOC.read_text()
    match = re.search(r"<!-- tested: exim [^>]*-->\n```\n(.*?)```", text, re.S)
    assert match, f"no tested exim block in {DOC}"
    assert match.group(1) == exim_recipe()


def _diagnose(exim: EximInstance, relay: RelayProcess) -> str:
    return f"\n--- exim mainlog ---\n{exim.log_tail()}\n--- relay log ---\n{relay.tail()}"


@pytest.mark.slow
@requires_root
@pytest.mark.parametrize("exim_max_rcpt", [1, 100], ids=["max_rcpt_1", "452_retry"])
def test_three_recipients_with_three_consent_states_each_get_one_copy_with_their_body(
    exim: EximInstance, sink: Sink, exim_relay_factory: RelayFactory, exim_max_rcpt: int
) -> None:
    relay = exim_relay_factory()
    none, both, opens = ("none@a.example.org", "both@b.example.org", "opens@c.example.org")
    grant(relay, both, "open_tracking,click_tracking")
    grant(relay, opens, "open_tracking")
    exim.submit(SENDER, [none, both, opens],
                tracked_message("three@sales.example.com", [none, both, opens]))
    assert sink.wait_for_recipients(3, 60), _diagnose(exim, relay)
    assert exim.wait_until_empty(30), _diagnose(exim, relay)
    time.sleep(0.5)  # nothing more may arrive
    assert sink.recipient_count() == 3, _diagnose(exim, relay)
    for address in (none, both, opens):
        assert len(sink.for_recipient(address)) == 1, address
    (to_none,) = sink.for_recipient(none)
    (to_both,) = sink.for_recipient(both)
    (to_opens,) = sink.for_recipient(opens)
    assert PIXEL.encode() not in to_none.data and WRAPPED.encode() not in to_none.data
    assert DESTINATION.encode() in to_none.data
    assert PIXEL.encode() in to_both.data and WRAPPED.encode() in to_both.data
    assert PIXEL.encode() in to_opens.data and WRAPPED.encode() not in to_opens.data
    log = exim.log_text()
    # Each recipient went through the relay (router consent_relay, one per transaction: no 452)
    # and came back on the re-injection port before leaving for the "Internet" (the sink).
    for address in (none, both, opens):
        assert re.search(rf"=> {re.escape(address)} R=consent_relay T=consent_relay_smtp ", log)
        assert re.search(rf"=> {re.escape(address)} R=internet T=remote_smtp ", log)
    reinjected = re.findall(rf"<= {re.escape(SENDER)} .* I=\[127.0.0.1\]:{exim.reinject_port} ",
                            log)
    assert len(reinjected) == 3, _diagnose(exim, relay)
    said_452 = re.search(r"\b452[ -]", log) is not None
    assert said_452 == (exim_max_rcpt != 1), "452 must come exactly when max_rcpt is not 1"


@pytest.mark.slow
@requires_root
def test_mail_waits_in_exim_while_the_relay_is_down_and_arrives_once_it_is_back(
    exim: EximInstance, sink: Sink, exim_relay_factory: RelayFactory
) -> None:
    messages = {f"down{i}@sales.example.com": [f"down{i}@customer.example.org"]
                for i in range(5)}
    messages["downmany@sales.example.com"] = [f"many{i}@customer.example.org" for i in range(3)]
    for message_id, recipients in messages.items():
        exim.submit(SENDER, recipients, tracked_message(message_id, recipients))
    refused = sum(len(r) for r in messages.values())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and exim.log_text().count("Connection refused") < refused:
        time.sleep(0.25)
    assert exim.log_text().count("Connection refused") >= refused, exim.log_tail()
    time.sleep(5.0)  # stay down through a couple of Exim queue runs (-q2s, 2 s retry here)
    assert exim.queue_count() == len(messages), exim.log_tail()
    assert sink.deliveries == []

    relay = exim_relay_factory()
    exim.flush()
    expected = {(mid, rcpt) for mid, rcpts in messages.items() for rcpt in rcpts}
    assert sink.wait_for_recipients(len(expected), 60), _diagnose(exim, relay)
    assert exim.wait_until_empty(30), _diagnose(exim, relay)
    time.sleep(0.5)  # nothing more may arrive
    counts = collections.Counter(
        (d.message_id.strip("<>"), rcpt) for d in sink.deliveries for rcpt in d.rcpt_tos)
    assert counts == dict.fromkeys(expected, 1)
    assert all(PIXEL.encode() not in d.data for d in sink.deliveries)


@pytest.mark.slow
@requires_root
def test_the_reinjection_port_takes_mail_from_the_relay_address_only(
    exim: EximInstance, sink: Sink
) -> None:
    # 127.0.0.2 is on this machine but is not +relay_loopback: refused on the re-injection port,
    # while the submission port (the test's own ACL) still takes it.
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        exim.submit(SENDER, ["x@customer.example.org"], b"Subject: x\r\n\r\nx\r\n",
                    port=exim.reinject_port, source="127.0.0.2")
    ((code, text),) = refused.value.recipients.values()
    assert code == 550 and b"only consent-relay sends on this port" in text
    exim.submit(SENDER, ["x@customer.example.org"], b"Subject: x\r\n\r\nx\r\n",
                source="127.0.0.2")
    assert exim.queue_count() == 1  # held for the relay, which is not running here
