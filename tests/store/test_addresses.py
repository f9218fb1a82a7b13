"""One normalisation for every spelling of a mailbox."""

from __future__ import annotations

import pytest

from store.addresses import AddressError, normalize


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("<bob@example.org>", "bob@example.org"),
        ("  carol@example.net ", "carol@example.net"),
        ("dora@bücher.de", "dora@xn--bcher-kva.de"),
        ("dora@BÜCHER.de", "dora@xn--bcher-kva.de"),
        ("eve@xn--bcher-kva.de", "eve@xn--bcher-kva.de"),
        ("JÖRG@münchen.de", "jörg@xn--mnchen-3ya.de"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("first.last+tag@example.com", "first.last+tag@example.com"),
        ("postmaster@example.com.", "postmaster@example.com"),
    ],
)
def test_spellings_of_one_mailbox_normalise_to_one_key(given: str, expected: str) -> None:
    assert normalize(given) == expected


def test_normalising_twice_changes_nothing() -> None:
    once = normalize("Ünïcode.User@Straße.de")
    assert normalize(once) == once


def test_composed_and_decomposed_unicode_local_parts_match() -> None:
    assert normalize("jo\u0308rg@example.de") == normalize("j\u00f6rg@example.de")


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty address"),
        ("no-at-sign", "missing @"),
        ("@example.com", "empty local part"),
        ("ann@", "empty domain"),
        ("a..b@example.com", "misplaced dot"),
        (".ann@example.com", "misplaced dot"),
        ("ann smith@example.com", "whitespace"),
        ("ann@-bad-.com", "invalid domain"),
        ("ann@exa_mple.com", "invalid domain"),
        ("a(b)@example.com", "invalid character"),
        ("x" * 65 + "@example.com", "longer than 64"),
    ],
)
def test_invalid_addresses_are_rejected_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(AddressError, match=reason):
        normalize(given)


def test_address_error_is_a_value_error() -> None:
    assert issubclass(AddressError, ValueError)
