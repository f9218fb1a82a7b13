"""``consent-relay rewrite --config``: the admin sees exactly the routed URLs a recipient gets."""

from __future__ import annotations

import email
import re
from pathlib import Path

import pytest

from cli.main import main
from web.routing import RouteSigner

ROOT = Path(__file__).resolve().parents[2]


def html_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw)
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def test_disclose_preview_routes_each_kept_tracker_through_a_signed_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bob.eml"
    code = main(["rewrite", str(ROOT / "examples" / "tracked.eml"), "--recipient",
                 "bob@example.net", "--treatment", "disclose", "--config",
                 str(ROOT / "config.example.toml"), "--out", str(out)])
    assert code == 0
    html = html_of(out.read_bytes())
    tokens = re.findall(r"http://127\.0\.0\.1:8025/t/([A-Za-z0-9._-]+)", html)
    assert len(tokens) == 2
    signer = RouteSigner(["change-me-signing-key"], "http://127.0.0.1:8025")
    originals = {signer.verify(t).url for t in tokens}
    assert any(u.startswith("https://mailtrack.io/trace/mail/") for u in originals)
    assert any(u.startswith("https://t.yesware.com/tt/") for u in originals)
    assert all(signer.verify(t).recipient == "bob@example.net" for t in tokens)
    assert "http://127.0.0.1:8025/p/" in html


def test_unreadable_config_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rewrite", str(ROOT / "examples" / "tracked.eml"), "--recipient",
                 "bob@example.net", "--treatment", "disclose", "--config", "/nonexistent.toml"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot read" in err and "Traceback" not in err


def test_bad_recipient_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rewrite", str(ROOT / "examples" / "tracked.eml"), "--recipient",
                 "not an address", "--treatment", "strip"])
    err = capsys.readouterr().err
    assert code == 2 and "bad --recipient" in err and "consent-since" not in err
