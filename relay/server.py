"""The inbound SMTP server on the process's own asyncio loop (not aiosmtpd's threaded Controller).

:class:`RelaySMTP` narrows aiosmtpd in three places: unknown exceptions become a 451 with the
trace id (never aiosmtpd's 500 with exception text), the idle timeout is lifted while a
message is being forwarded (upstream may take up to 10 minutes to answer the final dot), and
a lost client connection abandons the upstream transaction so nothing half-received is sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, syntax

from relay import errors, replies
from relay.config import RelayConfig, split_host_port
from relay.dataread import read_payload
from relay.handler import RelayHandler
from relay.paths import PLAIN_ADDRESS
from relay.session import state_of

log = logging.getLogger("consent_relay.relay")

_SIMPLE_PATH = re.compile(rf"<({PLAIN_ADDRESS})>(?: +|$)")


class RelaySMTP(SMTP):
    """aiosmtpd's protocol with our error mapping, timeout handling and connection tracking."""

    def __init__(self, handler: RelayHandler, registry: set[RelaySMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._registry = registry
        self._data_budget = handler.upstream_config.final_reply_timeout + 60

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._registry.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        if self.session is not None:
            state_of(self.session).drop_upstream()
        self._registry.discard(self)
        super().connection_lost(error)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """``<local@domain>`` in plain dot-atoms without the email-package parser.

        aiosmtpd parses every path with ``email._header_value_parser`` and defines a class on
        each call; for the common plain path this gives the same answer for a fraction of the
        cost. Anything else (quoted local parts, literals, UTF-8, routes) takes aiosmtpd's way.
        """
        m = _SIMPLE_PATH.match(arg)
        if m is None or (self.local_part_limit and m.group(1).index("@") > self.local_part_limit):
            return super()._getaddr(arg)
        return m.group(1), arg[m.end():]

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        if command != "DATA":
            return await super()._call_handler_hook(command, *args)
        self._reset_timeout(self._data_budget)
        try:
            return await super()._call_handler_hook(command, *args)
        finally:
            self._reset_timeout()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's checks, then a one-pass payload read (:mod:`relay.dataread`)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            payload = await read_payload(self._reader, self.data_size_limit, self._reset_timeout)
        except ConnectionError:
            self._writer.close()
            return
        if payload.content is None:
            await self._abandon_transaction()
            self._set_post_data_state()
            await self.push(replies.R552_TOO_BIG if payload.too_big else replies.R500_LINE_TOO_LONG)
            return
        self.envelope.content = self.envelope.original_content = payload.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    async def _abandon_transaction(self) -> None:
        """A refused payload ends the transaction here and upstream (RSET), not at next MAIL."""
        if self.session is None:
            return
        state = state_of(self.session)
        state.transaction = None
        if state.upstream is not None and state.upstream.connected:
            await state.upstream.rset()
            state.upstream_idle = True

    def _set_post_data_state(self) -> None:
        super()._set_post_data_state()  # type: ignore[no-untyped-call]

    async def handle_exception(self, error: Exception) -> str:
        trace = state_of(self.session).next_trace() if self.session else "-"
        return errors.reply_for(error, trace)

    @property
    def busy(self) -> bool:
        if self.session is None:
            return False
        state = state_of(self.session)
        return state.in_flight > 0 or state.transaction is not None

    def close_idle(self) -> None:
        """Say goodbye to a client between transactions (used at shutdown)."""
        if self.transport is not None and not self.busy:
            self._writer.write(replies.R421_SHUTTING_DOWN.encode() + b"\r\n")
            self.transport.close()


def tls_context(config: RelayConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return context


class RelayServer:
    """Owns the listening socket and the set of live connections."""

    def __init__(self, config: RelayConfig, handler: RelayHandler) -> None:
        self.config = config
        self.handler = handler
        self.connections: set[RelaySMTP] = set()
        self._server: asyncio.Server | None = None
        self._tls = tls_context(config)

    def _protocol(self) -> RelaySMTP:
        access = self.handler.access
        return RelaySMTP(
            self.handler,
            self.connections,
            data_size_limit=self.config.max_message_size,
            enable_SMTPUTF8=True,
            hostname=self.config.hostname,
            ident="consent-relay",
            tls_context=self._tls,
            require_starttls=self.config.require_tls and self._tls is not None,
            timeout=self.config.idle_timeout,
            auth_require_tls=True,
            authenticator=access if access.has_users else None,
            loop=asyncio.get_running_loop(),
        )

    async def start(self, reuse_port: bool = False) -> tuple[str, int]:
        host, port = split_host_port(self.config.listen)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, host=host, port=port, reuse_port=reuse_port or None
        )
        bound = self._server.sockets[0].getsockname()
        log.info("smtp_listening", extra={"address": f"{bound[0]}:{bound[1]}"})
        return bound[0], bound[1]

    async def stop(self, grace: float) -> None:
        """Stop accepting, let in-flight transactions finish within ``grace``, then close."""
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline:
            for connection in list(self.connections):
                connection.close_idle()
            if not any(c.busy for c in self.connections):
                break
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
        log.info("smtp_stopped", extra={"abandoned": sum(c.busy for c in self.connections)})
