"""Project-wide fixtures: a scripted upstream SMTP server and a relay on ephemeral ports.

Helper modules in ``support/`` (``upstream_server``, ``smtp_client``, ``deciders``) are made
importable here because the suite runs with ``--import-mode=importlib`` against the installed
package.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))

from relay_harness import RelayHarness, start_relay
from upstream_server import ScriptedUpstream

DATA = Path(__file__).parent / "data"


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedUpstream]:
    server = ScriptedUpstream()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def relay_factory(
    upstream: ScriptedUpstream,
) -> AsyncIterator[Callable[..., Awaitable[RelayHarness]]]:
    started: list[RelayHarness] = []

    async def make(**kwargs: Any) -> RelayHarness:
        harness = await start_relay(upstream.port, **kwargs)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.stop()


@pytest.fixture
def data_dir() -> Path:
    return DATA
