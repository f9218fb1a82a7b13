"""Signed route tokens: bound to URL, recipient, purpose and message; keys rotate."""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import pytest

from rewriters.treatment import Purpose
from web.routing import BadRouteToken, RouteSigner, routing_context

PIXEL = "https://track.shop.example.com/CI0/0100018c1a2b3c4d/AbC=12"
CLICK = (
    "https://track.shop.example.com/CL0/https:%2F%2Fshop.example.com%2Fcart/1/0100018c1a2b/AbC=12"
)


def token_of(url: str) -> str:
    return url.rsplit("/t/", 1)[1]


def flip(text: str, index: int) -> str:
    swapped = "A" if text[index] != "A" else "B"
    return text[:index] + swapped + text[index + 1 :]


def test_a_routed_url_carries_everything_inside_one_signed_token() -> None:
    signer = RouteSigner(["k1"], "https://relay.test/")
    routed = signer.route_url_for("Ann@Example.ORG", "trace-1")(CLICK, Purpose.CLICK_TRACKING)
    assert routed.startswith("https://relay.test/t/r1.")
    assert "?" not in routed and "shop.example.com" not in routed
    claims = signer.verify(token_of(routed))
    assert claims.url == CLICK
    assert claims.recipient == "ann@example.org"
    assert claims.purpose is Purpose.CLICK_TRACKING
    assert claims.message_ref == "trace-1"


def test_route_url_is_pure_same_inputs_give_the_same_url() -> None:
    signer = RouteSigner(["k1"], "https://relay.test")
    first = signer.route_url_for("ann@example.org", "m")(PIXEL, Purpose.OPEN_TRACKING)
    again = signer.route_url_for("ann@example.org", "m")(PIXEL, Purpose.OPEN_TRACKING)
    assert first == again


def test_long_tracker_urls_are_compressed() -> None:
    long_url = PIXEL + "?" + "&".join(f"utm_param{i}=campaign-2026-winter" for i in range(40))
    routed = RouteSigner(["k1"], "https://r.test").route_url_for("a@b.example", "m")(
        long_url, Purpose.OPEN_TRACKING
    )
    assert len(routed) < len(long_url)


@pytest.mark.parametrize("part", [1, 2])
def test_a_tampered_token_is_refused(part: int) -> None:
    signer = RouteSigner(["k1"], "https://relay.test")
    token = signer.token(PIXEL, "ann@example.org", Purpose.OPEN_TRACKING, "m")
    pieces = token.split(".")
    pieces[part] = flip(pieces[part], 5)
    with pytest.raises(BadRouteToken) as caught:
        signer.verify(".".join(pieces))
    assert caught.value.reason in ("tampered", "malformed")


def test_a_token_cannot_be_rebound_to_another_recipient() -> None:
    signer = RouteSigner(["k1"], "https://relay.test")
    token = signer.token(PIXEL, "ann@example.org", Purpose.OPEN_TRACKING, "m")
    version, payload, mac = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    body = json.loads(zlib.decompress(raw[1:], -15) if raw[0] == 1 else raw[1:])
    body[1] = "bob@example.org"
    forged = base64.urlsafe_b64encode(b"\x00" + json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(BadRouteToken) as caught:
        signer.verify(f"{version}.{forged}.{mac}")
    assert caught.value.reason == "tampered"


def test_a_token_for_an_arbitrary_url_forged_without_our_key_fails() -> None:
    ours = RouteSigner(["k1"], "https://relay.test")
    attacker = RouteSigner(["guessed-key"], "https://relay.test")
    forged = attacker.token(
        "https://evil.example/phish", "ann@example.org", Purpose.CLICK_TRACKING, "m"
    )
    with pytest.raises(BadRouteToken) as caught:
        ours.verify(forged)
    assert caught.value.reason == "tampered"


def test_the_first_key_signs_and_every_key_verifies() -> None:
    old = RouteSigner(["old"], "https://relay.test")
    rotated = RouteSigner(["new", "old"], "https://relay.test")
    from_old = old.token(PIXEL, "ann@example.org", Purpose.OPEN_TRACKING, "m")
    assert rotated.verify(from_old).url == PIXEL
    from_new = rotated.token(PIXEL, "ann@example.org", Purpose.OPEN_TRACKING, "m")
    with pytest.raises(BadRouteToken):
        old.verify(from_new)


@pytest.mark.parametrize(
    "token", ["", "r1..", "r1.x", "v1.abc.def", "r1.!!!.abc", "r1.AAAA.AAAA", "r1." + "A" * 20000]
)
def test_garbage_tokens_are_refused_not_crashing(token: str) -> None:
    with pytest.raises(BadRouteToken):
        RouteSigner(["k1"], "https://relay.test").verify(token)


def test_only_web_urls_are_routed_others_come_back_unchanged() -> None:
    route = RouteSigner(["k1"], "https://relay.test").route_url_for("ann@example.org", "m")
    assert route("javascript:alert(1)", Purpose.CLICK_TRACKING) == "javascript:alert(1)"
    assert route("cid:logo@x", Purpose.OPEN_TRACKING) == "cid:logo@x"
    relative = route("//t.example.com/o.gif", Purpose.OPEN_TRACKING)
    claims = RouteSigner(["k1"], "x").verify(token_of(relative))
    assert claims.url == "https://t.example.com/o.gif"


def test_routing_context_gives_the_cli_the_relay_s_urls() -> None:
    route = routing_context(["k1"], "https://relay.test", "ann@example.org", "preview")
    signer = RouteSigner(["k1"], "https://relay.test")
    expected = signer.route_url_for("ann@example.org", "preview")(PIXEL, Purpose.OPEN_TRACKING)
    assert route(PIXEL, Purpose.OPEN_TRACKING) == expected


def test_the_rewrite_preview_shows_routed_urls_that_only_lead_to_the_message_s_trackers() -> None:
    from email import message_from_bytes, policy

    from rewriters import Action, RewriteContext, Treatment, apply

    raw = (Path(__file__).parents[2] / "examples" / "tracked.eml").read_bytes()
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    route = routing_context(["k1"], "https://relay.test", "anna@example.net", "preview")
    treatment = Treatment(Action.DISCLOSE, route_through_relay=True)
    result = apply(raw, treatment, RewriteContext(recipient="anna@example.net", route_url=route))
    routed = {f for f in result.findings if f.action == "routed"}
    assert routed
    parsed = message_from_bytes(result.data, policy=policy.default)
    bodies = "".join(
        part.get_content() for part in parsed.walk() if part.get_content_maintype() == "text"
    )
    original = message_from_bytes(raw, policy=policy.default)
    source = "".join(
        part.get_content() for part in original.walk() if part.get_content_maintype() == "text"
    )
    signer = RouteSigner(["k1"], "https://relay.test")
    tokens = re.findall(r"https://relay\.test/t/([A-Za-z0-9._-]+)", bodies)
    assert len(tokens) >= len(routed)
    for token in tokens:
        claims = signer.verify(token)
        assert claims.url in source.replace("&amp;", "&")
        assert claims.recipient == "anna@example.net"
