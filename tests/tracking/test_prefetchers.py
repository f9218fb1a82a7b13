"""Mail-privacy prefetchers and scanners are machines; real mail clients are people."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.tracking_config import Prefetchers, parse

IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
YAHOO_PROXY = (
    "Mozilla/5.0 (compatible; YahooMailProxy; "
    "https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)"
)
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"


@pytest.fixture(scope="module")
def shipped() -> Prefetchers:
    return Prefetchers.load()


@pytest.mark.parametrize(
    ("agent", "address", "name"),
    [
        ("Mozilla/5.0", "104.28.1.9", "apple-mail-privacy-protection"),
        (IPHONE_MAIL, "17.58.63.12", "apple-mail-privacy-protection"),
        (GMAIL_PROXY, "66.249.84.1", "google-image-proxy"),
        (YAHOO_PROXY, "98.136.1.1", "yahoo-mail-proxy"),
        ("Mozilla/5.0 (compatible; Proofpoint/2.0)", "198.51.100.4", "security-scanner"),
        ("Barracuda Sentinel (EE)", "198.51.100.4", "security-scanner"),
        ("", "198.51.100.4", "no-user-agent"),
        (None, None, "no-user-agent"),
    ],
)
def test_known_prefetchers_are_machines(
    shipped: Prefetchers, agent: str | None, address: str | None, name: str
) -> None:
    assert shipped.classify(agent, address) == name


@pytest.mark.parametrize("agent", [IPHONE_MAIL, THUNDERBIRD])
def test_people_s_mail_clients_are_not_machines(shipped: Prefetchers, agent: str) -> None:
    assert shipped.classify(agent, "203.0.113.7") is None


def test_an_admin_file_adds_signatures(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text(
        '[[prefetchers]]\nname = "corp-scanner"\nkind = "security_scanner"\n'
        'networks = ["192.0.2.0/24"]\nagents_containing = ["curl"]\nmatch = "all"\n'
    )
    loaded = Prefetchers.load(extra)
    assert loaded.classify("curl/8.5", "192.0.2.10") == "corp-scanner"
    assert loaded.classify("curl/8.5", "203.0.113.7") is None  # "all": both must hold
    assert loaded.classify(THUNDERBIRD, "192.0.2.10") is None


def test_bad_signature_entries_are_refused() -> None:
    with pytest.raises(ValueError):
        parse('[[prefetchers]]\nname = "x"\nmatch = "sometimes"\n')
    with pytest.raises(ValueError):
        parse('[[prefetchers]]\nname = "x"\nnetworks = ["not-a-network"]\n')
