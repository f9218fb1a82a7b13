"""What the relay's real subprocess sends upstream: DKIM signatures and ESP tracking switches.

The relay (``consent-relay serve``) forwards straight to the capture sink here, as it would to an
ESP smart host; no Postfix is needed. The sender's signature and the relay's are checked with
dkimpy against the test's own key records (no DNS).
"""

from __future__ import annotations

import base64
import shutil
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import dkim
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from postfix import free_port
from relay_process import RelayProcess, relay_command, write_relay_config
from sink import Delivery, Sink
from tracked_mail import PIXEL, SENDER, tracked_message

from relay.dkim import resign

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
]

DOMAIN = "sales.example.com"
RCPT = "bob@customer.example.org"
PLAIN = (
    f"From: Alice <{SENDER}>\r\nTo: <{RCPT}>\r\nSubject: Lunch\r\n"
    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <plain@sales.example.com>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Noon at the usual place?\r\n"
).encode()

Keys = dict[str, tuple[bytes, bytes]]
RelayStarter = Callable[..., RelayProcess]


def _key_pair(folder: Path) -> tuple[bytes, bytes]:
    folder.mkdir()
    key = folder / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=60).stdout
    return key.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    tmp = tmp_path_factory.mktemp("keys")
    return {"sender": _key_pair(tmp / "sender"), "relay": _key_pair(tmp / "relay")}


def _verifies(data: bytes, keys: Keys) -> bool:
    records = {f"{name}._domainkey.{DOMAIN}.".encode(): pair[1] for name, pair in keys.items()}

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name, b"")

    return bool(dkim.verify(data, dnsfunc=lookup))


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    server = Sink(free_port(), save_dir=tmp_path / "sink")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_relay(sink: Sink, tmp_path: Path) -> Iterator[RelayStarter]:
    started: list[RelayProcess] = []

    def start(**config: str) -> RelayProcess:
        folder = tmp_path / f"relay{len(started)}"
        folder.mkdir()
        port = free_port()
        path = write_relay_config(folder, port, sink.port, **config)
        process = RelayProcess(relay_command(path), port, folder / "relay.log")
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def _send(relay: RelayProcess, sink: Sink, data: bytes) -> Delivery:
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as client:
        client.sendmail(SENDER, [RCPT], data)
    assert sink.wait_for_recipients(1, 30), relay.tail()
    (delivery,) = sink.deliveries
    return delivery


def _signed(data: bytes, keys: Keys) -> bytes:
    return resign(data, "sender", DOMAIN, keys["sender"][0])


def test_unchanged_message_keeps_a_valid_original_signature(
    keys: Keys, sink: Sink, start_relay: RelayStarter
) -> None:
    relay = start_relay(dkim='mode = "remove_broken"')
    original = _signed(PLAIN, keys)
    delivery = _send(relay, sink, original)
    assert delivery.data.endswith(original)
    assert _verifies(delivery.data, keys)


def test_rewritten_message_is_resigned_and_verifies(
    keys: Keys, sink: Sink, start_relay: RelayStarter, tmp_path: Path
) -> None:
    key_file = tmp_path / "relay.pem"
    key_file.write_bytes(keys["relay"][0])
    relay = start_relay(dkim=f'mode = "resign"\nselector = "relay"\ndomain = "{DOMAIN}"\n'
                             f'private_key = "{key_file}"')
    delivery = _send(relay, sink, _signed(tracked_message("resign@x", [RCPT]), keys))
    assert PIXEL.encode() not in delivery.data
    (signature,) = delivery.header("DKIM-Signature")
    assert "s=relay" in signature
    assert _verifies(delivery.data, keys)


def test_rewritten_message_loses_the_signature_it_broke(
    keys: Keys, sink: Sink, start_relay: RelayStarter
) -> None:
    relay = start_relay(dkim='mode = "remove_broken"')
    delivery = _send(relay, sink, _signed(tracked_message("broken@x", [RCPT]), keys))
    assert PIXEL.encode() not in delivery.data
    assert delivery.header("DKIM-Signature") == []


def test_next_hop_mode_forwards_the_broken_signature_for_the_signer_to_replace(
    keys: Keys, sink: Sink, start_relay: RelayStarter
) -> None:
    relay = start_relay()
    delivery = _send(relay, sink, _signed(tracked_message("nexthop@x", [RCPT]), keys))
    assert len(delivery.header("DKIM-Signature")) == 1
    assert not _verifies(delivery.data, keys)


def test_mailgun_profile_switches_tracking_off_for_a_stripped_recipient(
    sink: Sink, start_relay: RelayStarter
) -> None:
    relay = start_relay(upstream_extra='profile = "mailgun"')
    data = b"X-Mailgun-Track-Opens: yes\r\n" + tracked_message("mailgun@x", [RCPT])
    delivery = _send(relay, sink, data)
    assert delivery.header("X-Mailgun-Track-Opens") == ["no"]
    assert delivery.header("X-Mailgun-Track-Clicks") == ["no"]
    assert delivery.header("X-Mailgun-Track") == ["no"]
