"""Per-connection state kept beside aiosmtpd's Session: trace ids and the upstream link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from relay.transaction import Transaction
from relay.upstream import Upstream


@dataclass
class ConnectionState:
    """A connection id (in every reply and log line) and the transaction in progress."""

    connection_id: str = field(default_factory=lambda: secrets.token_hex(5))
    counter: int = 0
    upstream: Upstream | None = None
    transaction: Transaction | None = None
    in_flight: int = 0
    upstream_idle: bool = False  # upstream finished a transaction; no RSET needed before MAIL

    def next_trace(self) -> str:
        self.counter += 1
        return f"{self.connection_id}.{self.counter}"

    def drop_upstream(self) -> None:
        """Abandon the upstream connection (and with it any unfinished upstream transaction)."""
        if self.upstream is not None:
            self.upstream.close()
        self.upstream = None
        self.transaction = None


def state_of(session: Any) -> ConnectionState:
    state = getattr(session, "consent_relay", None)
    if state is None:
        state = ConnectionState()
        session.consent_relay = state
    return state
