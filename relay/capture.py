"""A capture SMTP server: accepts everything on loopback and writes each message to a folder.

For newcomers (``[upstream] capture_dir``) and for ``consent-relay sink``: it shows exactly
what each recipient's mail server would receive. Never used as a real upstream.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP


class CaptureHandler:
    """Writes ``<time>-<n>.eml`` (the bytes as received) and ``.json`` (the envelope)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{next(self._counter):05d}"
        content: bytes = envelope.original_content
        (self.directory / f"{stem}.eml").write_bytes(content)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        (self.directory / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n")
        return f"250 2.0.0 Captured as {stem}.eml"


async def start_capture(directory: Path, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = CaptureHandler(directory)
    return await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="capture.localhost", loop=loop),
        host=host,
        port=port,
    )
