"""``consent-relay serve`` as a newcomer runs it: a real process, real sockets, a capture folder."""

from __future__ import annotations

import email
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from store.keylog import RECORD

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"port {port} never opened")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def send(port: int, sample: str, rcpt: str) -> None:
    raw = (ROOT / "examples" / sample).read_bytes().replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        assert client.sendmail("sales@example.org", [rcpt], raw) == {}


@pytest.fixture
def example_setup(tmp_path: Path) -> tuple[Path, int]:
    smtp_port, capture_port, web_port = free_port(), free_port(), free_port()
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace("127.0.0.1:10025", f"127.0.0.1:{smtp_port}")
    text = text.replace("port = 10026", f"port = {capture_port}")
    text = text.replace("127.0.0.1:8025", f"127.0.0.1:{web_port}")
    (tmp_path / "config.toml").write_text(text)
    shutil.copy(ROOT / "policy.example.toml", tmp_path / "policy.example.toml")
    return tmp_path / "config.toml", smtp_port


def plain_text(raw: bytes) -> str:
    message = email.message_from_bytes(raw)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def web_port(config: Path) -> int:
    text = config.read_text()
    return int(text.split("[web]")[1].split('listen = "127.0.0.1:')[1].split('"')[0])


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--config", str(config)],
        cwd=config.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def test_example_config_relays_the_sample_into_the_outbox_and_stops_on_sigterm(
    example_setup: tuple[Path, int],
) -> None:
    config, port = example_setup
    process = start(config)
    try:
        wait_for_port(port, process)
        send(port, "tracked.eml", "anna@example.net")
        process.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert process.poll() is None, "SIGHUP must reload the policy, not stop the relay"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output.decode()
    delivered = sorted((config.parent / "outbox").glob("*.eml"))
    assert len(delivered) == 1
    stripped = delivered[0].read_bytes()
    assert b"X-Consent-Relay-Trace:" in stripped and b"mailtrack.io" not in stripped
    log = output.decode()
    assert "message_relayed" in log and "anna@example.net" not in log


def test_config_check_names_the_line_and_key_of_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[relay]\nlisten = "127.0.0.1:10025"\nallowed_clinets = []\n')
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "config", "check", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert f"{bad}:3: relay.allowed_clinets: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_walkthrough_consent_granted_on_the_cli_gives_a_disclosed_mail_with_a_working_link(
    example_setup: tuple[Path, int],
) -> None:
    config, port = example_setup
    granted = cli("consent", "grant", "bob@example.net", "--purpose",
                  "open_tracking,click_tracking", "--config", str(config), cwd=config.parent)
    assert granted.returncode == 0, granted.stderr
    process = start(config)
    try:
        wait_for_port(port, process)
        send(port, "tracked.eml", "bob@example.net")
        base = f"http://127.0.0.1:{web_port(config)}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as health:
            assert health.status == 200
        delivered = next((config.parent / "outbox").glob("*.eml")).read_bytes()
        assert b"treatment=disclose" in delivered
        text = plain_text(delivered)
        assert "Mailtrack" in text
        link = text.split(base + "/p/")[1].split()[0]
        with urllib.request.urlopen(f"{base}/p/{link}", timeout=10) as page:
            assert page.status == 200 and b"<form" in page.read()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=40)
    shown = cli("consent", "show", "bob@example.net", "--config", str(config), cwd=config.parent)
    assert "withdrawn" not in shown.stdout, "opening the page (GET) must not change consent"


def test_two_workers_share_the_port_and_both_stop_on_sigterm(
    example_setup: tuple[Path, int],
) -> None:
    config, port = example_setup
    text = config.read_text().replace("shutdown_grace = 30", "shutdown_grace = 5\nworkers = 2")
    config.write_text(text)
    process = start(config)
    try:
        wait_for_port(port, process)
        # worker 0 runs the capture server (the upstream here); a worker that is up before it
        # would rightly answer 451, so wait for it as an MTA's retry would
        capture = int(config.read_text().split("[upstream]")[1].split("port = ")[1].split()[0])
        wait_for_port(capture, process)
        for number in range(6):
            send(port, "tracked.eml" if number == 0 else "tracked-followup.eml",
                 f"r{number}@example.net")
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{web_port(config)}/metrics", timeout=10).read().decode()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output.decode()
    assert len(list((config.parent / "outbox").glob("*.eml"))) == 6
    # /metrics (served by worker 0) adds up both workers' counters
    delivered = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                 if line.startswith("consent_relay_messages_total{")
                 and 'outcome="delivered"' in line]
    assert sum(delivered) == 6, metrics
    key_logs = list(config.parent.glob("*.delivered.w[01]"))  # each worker keeps its own
    assert key_logs and sum(log.stat().st_size for log in key_logs) == 6 * RECORD.size


def test_config_check_reports_a_missing_dkim_key_for_resigning(tmp_path: Path) -> None:
    shutil.copy(ROOT / "policy.example.toml", tmp_path / "policy.example.toml")
    config = tmp_path / "config.toml"
    config.write_text('[dkim]\nmode = "resign"\nselector = "s1"\ndomain = "example.org"\n'
                      'private_key = "missing.pem"\n')
    result = cli("config", "check", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "[dkim] private_key: cannot read" in result.stderr
