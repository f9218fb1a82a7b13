"""``[tracking]`` section (routed trackers, issue 6) and the mail-privacy prefetcher signatures.

Prefetchers (Apple Mail Privacy Protection, Gmail's and Yahoo's image proxies, security
scanners) fetch every image or link of a message without a person looking at it. Their requests
are recorded as machine hits, never as a person's open or click, and never as consent. The
signatures live in ``web/data/prefetchers.toml``; an admin file (``prefetchers_file``) adds to
them.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrackingConfig(BaseModel):
    """How ``/t/<token>`` tells vendors about consented opens and what we measure ourselves."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["fetch", "redirect"] = Field(
        default="fetch",
        description="Consented open: 'fetch' requests the vendor's pixel from the relay (the "
        "vendor never sees the recipient's IP address or device); 'redirect' sends the mail "
        "client to the vendor with a 302.",
    )
    measurement: Literal["counts", "identified", "deliverability", "none"] = Field(
        default="counts",
        description="'counts': hits per message, purpose and person/machine (without consent "
        "only an all-messages daily total); 'identified': counts plus who opened or clicked "
        "when, under consent only, never IP or user agent; 'deliverability': only the date of "
        "each recipient's last open (CNIL list-hygiene exemption); 'none': nothing.",
    )
    fetch_timeout: float = Field(default=3.0, gt=0, le=30, description="Seconds per vendor fetch.")
    fetch_concurrency: int = Field(
        default=64, ge=1, le=4096, description="Vendor fetches in flight at once; more queue."
    )
    fetch_max_bytes: int = Field(
        default=65536, ge=0, description="Bytes of a vendor's answer read before hanging up."
    )
    fetch_private_addresses: bool = Field(
        default=False,
        description="Allow fetches to loopback/private/link-local addresses (tests only: a "
        "sender could otherwise make the relay request internal services).",
    )
    user_agent: str = Field(
        default="Mozilla/5.0 (compatible; consent-relay)",
        description="The only User-Agent vendors see; nothing of the recipient's is passed on.",
    )
    forward_machine_opens: bool = Field(
        default=True,
        description="Under consent, also tell the vendor about prefetcher opens (Apple MPP "
        "and the like), as would happen without the relay.",
    )
    flush_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between writes of buffered counters: the most a crash loses.",
    )
    buffer_limit: int = Field(
        default=100_000, ge=1, description="Buffered entries before hits are dropped (counted)."
    )
    retention_days: int = Field(
        default=395,
        ge=1,
        description="Counts, identified events and last-open dates older than this are purged "
        "(store.tracking.TrackingStore.purge).",
    )
    prefetchers_file: Path | None = Field(
        default=None, description="Extra prefetcher signatures, same format as the shipped file."
    )


@dataclass(frozen=True)
class Prefetcher:
    """One signature: user agents (exact or substring, case-insensitive) and/or networks."""

    name: str
    kind: str  # privacy_proxy | security_scanner
    agents_equal: frozenset[str]
    agents_containing: tuple[str, ...]
    networks: tuple[Network, ...]
    match: str  # any | all

    def _agent(self, agent: str) -> bool | None:
        if not self.agents_equal and not self.agents_containing:
            return None
        return agent in self.agents_equal or any(s in agent for s in self.agents_containing)

    def _network(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in n for n in self.networks)

    def matches(
        self, agent: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    ) -> bool:
        by_agent = self._agent(agent)
        by_network = self._network(address) if self.networks else None
        known = [x for x in (by_agent, by_network) if x is not None]
        return bool(known) and (all(known) if self.match == "all" else any(known))


class Prefetchers:
    """Classifies a request as a machine fetch; ``classify`` returns the signature's name."""

    def __init__(self, signatures: list[Prefetcher]) -> None:
        self.signatures = signatures

    @classmethod
    def load(cls, extra: Path | None = None) -> Prefetchers:
        text = resources.files("web").joinpath("data/prefetchers.toml").read_text("utf-8")
        signatures = parse(text)
        if extra is not None:
            signatures += parse(extra.read_text("utf-8"))
        return cls(signatures)

    def classify(self, user_agent: str | None, client_ip: str | None) -> str | None:
        agent = (user_agent or "").strip().lower()
        try:
            address = ipaddress.ip_address(client_ip) if client_ip else None
        except ValueError:
            address = None
        for signature in self.signatures:
            if signature.matches(agent, address):
                return signature.name
        return None


def parse(text: str) -> list[Prefetcher]:
    """Signatures from TOML text (``[[prefetchers]]`` tables); ``ValueError`` on bad entries."""
    data = tomllib.loads(text)
    out = []
    for raw in data.get("prefetchers", []):
        match = str(raw.get("match", "any"))
        if match not in ("any", "all") or not raw.get("name"):
            raise ValueError(f"bad prefetcher entry {raw!r}")
        out.append(
            Prefetcher(
                name=str(raw["name"]),
                kind=str(raw.get("kind", "privacy_proxy")),
                agents_equal=frozenset(a.strip().lower() for a in raw.get("agents_equal", [])),
                agents_containing=tuple(a.lower() for a in raw.get("agents_containing", [])),
                networks=tuple(ipaddress.ip_network(n) for n in raw.get("networks", [])),
                match=match,
            )
        )
    return out
