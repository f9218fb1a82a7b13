"""``consent-relay serve`` as a newcomer runs it: a real process, real sockets, a capture folder."""

from __future__ import annotations

import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
        sample = (ROOT / "examples" / "tracked.eml").read_bytes().replace(b"\n", b"\r\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
            refused = client.sendmail("sales@example.org", ["anna@example.net"], sample)
        assert refused == {}
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
    assert b"X-Consent-Relay-Trace:" in delivered[0].read_bytes()
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
