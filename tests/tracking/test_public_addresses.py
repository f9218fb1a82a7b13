"""Server-side vendor fetches never reach loopback or private space, however it is spelled."""

from __future__ import annotations

import pytest

from web.vendorfetch import _public


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "::127.0.0.1",
     "64:ff9b::7f00:1", "fe80::1%eth0"],
)
def test_internal_addresses_in_any_form_are_refused(address: str) -> None:
    assert not _public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert _public(address)
