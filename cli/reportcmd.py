"""``consent-relay report [--since 7d] [--format table|csv|json|html] [--output FILE]``.

Reads the decision records of the configured store; the HTML form is one self-contained file
(inline SVG charts, no remote assets) for the DPO to open and forward.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.html import as_html
from audit.report import as_csv, as_json, as_table, build_report, parse_since
from cli.dbcmd import UsageError, add_config_option, load, run
from store.audit import AuditStore
from store.db import Database

RENDERERS = {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}


def write(text: str, output: Path | None) -> None:
    """To the file (UTF-8) or to stdout."""
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)


async def report(args: argparse.Namespace) -> int:
    config = load(args)
    now = datetime.now(UTC)
    try:
        since = parse_since(args.since, now)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    db = Database(config.store.url)
    try:
        await db.upgrade("heads")
        result = await build_report(AuditStore(db), since, now)
    finally:
        await db.dispose()
    write(RENDERERS[args.format](result), args.output)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="trackers, treatments, consent coverage and incidents over a period"
    )
    parser.add_argument("--since", default="7d", help="7d, 24h, 2w or an ISO date (default 7d)")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="table")
    parser.add_argument("--output", "-o", type=Path, default=None, metavar="FILE",
                        help="write to FILE instead of standard output")
    add_config_option(parser)
    parser.set_defaults(func=run(report))
