"""Start the real relay (RelayServer + RelayHandler) on 127.0.0.1 in the test's event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deciders import TableDecider

from relay.access import Access
from relay.config import DkimConfig, RelayConfig, UpstreamConfig
from relay.contracts import ContextFactory, Decider, Journal, Observer, plain_context
from relay.handler import RelayHandler
from relay.pipeline import PipelineSettings
from relay.server import RelayServer


@dataclass
class RelayHarness:
    server: RelayServer
    handler: RelayHandler
    port: int

    async def stop(self, grace: float = 0.5) -> None:
        await self.server.stop(grace)


async def start_relay(
    upstream_port: int,
    *,
    decider: Decider | None = None,
    relay: dict[str, Any] | None = None,
    upstream: dict[str, Any] | None = None,
    journal: Journal | None = None,
    observers: tuple[Observer, ...] = (),
    users: dict[str, str] | None = None,
    trace_header: bool = True,
    context_factory: ContextFactory = plain_context,
) -> RelayHarness:
    relay_config = RelayConfig(listen="127.0.0.1:0", **(relay or {}))
    settings = {"host": "127.0.0.1", "port": upstream_port, **(upstream or {})}
    upstream_config = UpstreamConfig(**settings)
    handler = RelayHandler(
        upstream=upstream_config,
        local_hostname="relay.test",
        decider=decider or TableDecider(),
        access=Access(relay_config.allowed_clients, users or {}),
        pipeline=PipelineSettings(upstream_config, DkimConfig(), trace_header=trace_header),
        journal=journal,
        observers=observers,
        context_factory=context_factory,
    )
    server = RelayServer(relay_config, handler)
    _, port = await server.start()
    return RelayHarness(server, handler, port)
