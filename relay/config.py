"""Configuration sections owned by the relay: inbound SMTP, upstream and DKIM."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def split_host_port(value: str) -> tuple[str, int]:
    """Parse ``host:port`` or ``[v6]:port``; raise ValueError with the reason."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected host:port, got {value!r}")
    host = host.strip("[]")
    if not host:
        raise ValueError(f"missing host in {value!r}")
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port out of range in {value!r}")
    return host, number


class RelayConfig(_Section):
    """``[relay]``: the SMTP listener the organisation's MTA talks to."""

    listen: str = "127.0.0.1:10025"
    hostname: str = "consent-relay.localhost"
    allowed_clients: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    max_message_size: int = Field(default=36_700_160, gt=0)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_tls: bool = False
    auth_users_file: Path | None = None
    idle_timeout: float = Field(default=300.0, gt=0)
    shutdown_grace: float = Field(default=30.0, ge=0)
    dedup: bool = True
    dedup_file: Path | None = Field(
        default=None,
        description="Local key log of the delivery journal (default: beside a SQLite store).",
    )
    workers: int = Field(default=1, ge=1, le=64, description="Processes sharing the port.")
    trace_header: bool = True

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_host_port(value)
        return value

    @field_validator("allowed_clients")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a CIDR network: {exc}") from exc
        return value


class UpstreamConfig(_Section):
    """``[upstream]``: where accepted mail goes next (re-injection port or ESP smart host).

    ``capture_dir`` makes ``serve`` also run a built-in capture server on host:port that writes
    each delivered message as an ``.eml`` file, so a newcomer can see what recipients get.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=10026, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "none"
    verify: bool = True
    timeout: float = Field(default=60.0, gt=0)
    final_reply_timeout: float = Field(default=600.0, gt=0, le=600.0)
    username: str | None = None
    password: str | None = None
    helo_name: str | None = None
    profile: Literal[
        "generic", "mailgun", "postmark", "sendgrid", "mailjet", "sparkpost", "ses", "mandrill"
    ] = "generic"
    capture_dir: Path | None = None


class DkimConfig(_Section):
    """``[dkim]``: what to do with DKIM signatures a rewrite breaks."""

    mode: Literal["next_hop", "resign", "remove_broken"] = "next_hop"
    selector: str | None = None
    domain: str | None = None
    private_key: Path | None = None
