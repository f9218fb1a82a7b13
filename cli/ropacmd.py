"""``consent-relay ropa [--format md|json]``: the record of processing activities (Art. 30)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from audit.ropa import as_json, as_markdown, build_ropa
from cli.dbcmd import add_config_option, load, run
from cli.reportcmd import write
from policy.engine import Policy
from store.audit import AuditStore
from store.db import Database


async def ropa(args: argparse.Namespace) -> int:
    config = load(args)
    policy = Policy.load(config.policy.file)  # a broken policy file is reported, exit 2
    db = Database(config.store.url)
    try:
        await db.upgrade("heads")
        vendors = await AuditStore(db).vendors()
    finally:
        await db.dispose()
    record = build_ropa(config.audit, policy, vendors)
    write(as_json(record) if args.format == "json" else as_markdown(record), args.output)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ropa", help="write a record of processing activities")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
    add_config_option(parser)
    parser.set_defaults(func=run(ropa))
