"""A line-level SMTP client for tests that need exact control (disconnects, garbage, pipelines).

Real sockets to the real relay; no mocks.
"""

from __future__ import annotations

import asyncio
import contextlib


class LineClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> LineClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        greeting = await client.reply()
        assert greeting.startswith("220"), greeting
        return client

    async def reply(self, timeout: float = 15) -> str:
        """Read one (possibly multi-line) reply; return its lines joined by newlines."""
        lines = []
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
            if not raw:
                raise ConnectionError("connection closed: " + "\n".join(lines))
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    async def cmd(self, line: str | bytes, timeout: float = 15) -> str:
        data = line if isinstance(line, bytes) else line.encode("utf-8")
        self.writer.write(data + b"\r\n")
        await self.writer.drain()
        return await self.reply(timeout)

    async def send_data(self, content: bytes, timeout: float = 15) -> str:
        """DATA with dot-stuffing; returns the final reply."""
        start = await self.cmd("DATA")
        assert start.startswith("354"), start
        lines = content.replace(b"\r\n", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        body = b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
        self.writer.write(body + b".\r\n")
        await self.writer.drain()
        return await self.reply(timeout)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
