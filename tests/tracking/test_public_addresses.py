"""Server-side vendor fetches never reach loopback or private space, however it is spelled."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from web.vendorfetch import FetchRefused, _public, pin_to, pinned


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


async def test_a_vendor_url_is_pinned_to_the_address_that_was_checked() -> None:
    url, options = await pinned("https://8.8.8.8/e1t/o/5?x=1")
    assert url == "https://8.8.8.8/e1t/o/5?x=1"
    assert options == {"headers": {"Host": "8.8.8.8"}, "extensions": {"sni_hostname": "8.8.8.8"}}
    url, options = await pinned("http://[2001:4860:4860::8888]:8080/p")
    assert url == "http://[2001:4860:4860::8888]:8080/p"
    assert options["headers"] == {"Host": "[2001:4860:4860::8888]:8080"}


async def test_a_host_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(FetchRefused):
        await pinned("https://localhost/pixel.gif")


async def test_a_pinned_request_reaches_the_address_with_the_real_host_name() -> None:
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        seen.extend(line for line in head.split("\r\n") if line.lower().startswith("host:"))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/p",
                                    headers={"Host": f"t.vendor.example:{port}"},
                                    extensions={"sni_hostname": "t.vendor.example"})
    server.close()
    assert response.status_code == 204
    assert seen == [f"Host: t.vendor.example:{port}"]


@pytest.mark.parametrize("address", ["2002:7f00:1::", "64:ff9b:1::a00:1"])
def test_6to4_and_local_nat64_forms_of_private_addresses_are_refused(address: str) -> None:
    assert not _public(address)


def test_an_idn_vendor_host_is_sent_in_its_a_label_form() -> None:
    url, options = pin_to("https://bücher.example:8443/p.gif", "93.184.216.34")
    assert url == "https://93.184.216.34:8443/p.gif"
    assert options == {"headers": {"Host": "xn--bcher-kva.example:8443"},
                       "extensions": {"sni_hostname": "xn--bcher-kva.example"}}
