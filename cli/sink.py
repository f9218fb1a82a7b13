"""``consent-relay sink --dir ./outbox``: a capture SMTP server for trying the relay out."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from relay.capture import start_capture
from relay.config import split_host_port


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sink", help="accept mail on loopback and write each message to a folder as .eml"
    )
    parser.add_argument("--dir", type=Path, default=Path("outbox"))
    parser.add_argument("--listen", default="127.0.0.1:10026")
    parser.set_defaults(func=main)


async def _serve(directory: Path, listen: str) -> None:
    host, port = split_host_port(listen)
    server = await start_capture(directory, host, port)
    print(f"capturing mail on {listen} into {directory}/ (Ctrl-C to stop)", flush=True)
    async with server:
        await server.serve_forever()


def main(args: argparse.Namespace) -> int:
    try:
        asyncio.run(_serve(args.dir, args.listen))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as exc:
        print(f"error: cannot listen on {args.listen}: {exc}")
        return 2
    return 0
