"""``consent-relay purge [--dry-run]``: apply the retention periods of ``[audit]`` now.

The server does the same daily; this is for a first run, a changed period, or a check
(``--dry-run`` counts what would go and deletes nothing).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from audit.purge import purge
from cli.dbcmd import add_config_option, load, run
from store.db import Database


def _progress(table: str, count: int) -> None:
    print(f"  {table} ... {count}", file=sys.stderr, flush=True)


async def purge_main(args: argparse.Namespace) -> int:
    config = load(args)
    db = Database(config.store.url)
    verb = "would delete" if args.dry_run else "deleted"
    print("purge (dry run): counting expired rows" if args.dry_run else "purge: deleting "
          "expired rows", file=sys.stderr)
    try:
        await db.upgrade("heads")
        counts = await purge(db, config.audit, args.dry_run, hash_key=config.store.hash_key,
                             progress=_progress, tracking_days=config.tracking.retention_days)
    finally:
        await db.dispose()
    for table, count in counts.items():
        print(f"{table}: {verb} {count}")
    print(f"total: {verb} {sum(counts.values())}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("purge", help="delete records past their retention period")
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    add_config_option(parser)
    parser.set_defaults(func=run(purge_main))
