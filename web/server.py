"""Run the ASGI app under uvicorn on the relay's own asyncio loop.

uvicorn's ``Server.serve`` normally installs SIGINT/SIGTERM handlers (``capture_signals``);
the relay owns the process signals (SIGTERM drains SMTP, SIGHUP reloads the policy), so
:class:`EmbeddedServer` turns that off and the relay stops us through :meth:`WebHandle.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger("consent_relay.web")


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves process signals alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen must be host:port, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class WebHandle:
    server: EmbeddedServer
    task: asyncio.Task[None]
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let running requests finish for ``grace`` seconds, then close."""
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            self.server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.task, 1.0)


async def start_web(app: ASGIApp, listen: str) -> WebHandle:
    """Start serving ``app`` on ``listen`` (port 0 picks a free one); returns once listening."""
    host, port = split_listen(listen)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name="web-server")
    while not server.started:
        if task.done():
            task.result()  # re-raise the start-up error (e.g. address in use)
            raise RuntimeError(f"web server stopped while starting on {listen}")
        await asyncio.sleep(0.01)
    bound = port
    for listener in server.servers:
        for sock in listener.sockets:
            bound = int(sock.getsockname()[1])
            break
    log.info("web_started", extra={"event": "web_started", "host": host, "port": bound})
    return WebHandle(server, task, host, bound)
