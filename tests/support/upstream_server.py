"""A real aiosmtpd server on 127.0.0.1 standing in for the upstream MTA, with scripted faults.

Tests set attributes on :class:`ScriptedUpstream` to make the next commands fail; every
message the upstream *accepted* is in ``accepted`` (so "exactly once or not at all" is a
count over that list).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP


@dataclass
class Accepted:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]


@dataclass
class ScriptedUpstream:
    mail_reply: str | None = None
    mail_reply_keeps_sender: bool = False  # a 2xx mail_reply that still opens a transaction
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    drop_on_rcpt: set[str] = field(default_factory=set)
    data_reply: str | None = None
    drop_on_data: bool = False
    hang_on_data: bool = False
    accepted: list[Accepted] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None
    port: int = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.mail_reply and not self.mail_reply_keeps_sender:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return self.mail_reply or "250 2.1.0 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.drop_on_rcpt:
            server.transport.close()
            return "421 closing"
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_on_data:
            server.transport.close()
            return "421 closing"
        if self.hang_on_data:
            await asyncio.sleep(3600)
        if self.data_reply:
            return self.data_reply
        self.accepted.append(Accepted(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content, list(envelope.mail_options)))
        return f"250 2.0.0 queued as U{len(self.accepted)}"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> SMTP:
            self.connections += 1
            return SMTP(self, enable_SMTPUTF8=True, hostname="upstream.test", loop=loop)

        self.server = await loop.create_server(factory, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
