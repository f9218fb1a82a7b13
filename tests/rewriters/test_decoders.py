"""Destination recovery never produces anything but a plain web URL."""

from __future__ import annotations

import pytest

from rewriters.decoders import DECODERS, decode, split_url


@pytest.mark.parametrize(("name", "url", "arg"), [
    ("query_param", "https://mailtrack.io/trace/link/x?url=javascript%3Aalert(1)", "url"),
    ("postmark", "https://click.pstmrk.it/3s/", ""),
    ("mandrill_json", "https://mandrillapp.com/track/click/1/x?p=!!!notbase64", ""),
    ("mailgun_zlib", "https://email.x.example/c/eJnotzlibatall", ""),
    ("base64_param", "https://a.lt.acemlna.com/Prod/link-tracker?redirectUrl=%%%", "redirectUrl"),
    ("streak_last_segment", "https://streaklinks.com/onlyone", ""),
    ("yesware_path", "https://t.yesware.com/tt/a/b", ""),
    ("path_segment_after", "https://x.awstrack.me/L0/ftp:%2F%2Fexample.com/1/x", "L0"),
])
def test_undecodable_or_unsafe_tokens_give_no_destination(name: str, url: str, arg: str) -> None:
    parts = split_url(url)
    assert parts is not None
    assert decode(name, parts, arg) is None


def test_unknown_decoder_name_is_not_recoverable() -> None:
    parts = split_url("https://example.com/x")
    assert parts is not None and decode("no_such_decoder", parts, "") is None


def test_registry_names_match_the_documented_decoders() -> None:
    assert {"query_param", "path_segment_after", "postmark", "mandrill_json", "mailgun_zlib",
            "base64_param", "streak_last_segment", "yesware_path"} <= set(DECODERS)


def test_non_ascii_destination_is_percent_encoded() -> None:
    parts = split_url("https://x.r.us-east-1.awstrack.me/L0/https:%2F%2Fexample.com%2F%C3%BCber/1/x")
    assert parts is not None
    assert decode("path_segment_after", parts, "L0") == "https://example.com/%C3%BCber"
