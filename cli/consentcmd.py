"""``consent-relay consent ...``: record, show, import, export and erase consent.

CSV import columns (header row required; order free; unknown columns are an error):

- ``recipient`` (required): the address, any spelling; it is normalised.
- ``purpose`` (required): ``open_tracking`` or ``click_tracking``; several separated by ``;``.
- ``state`` (required): ``granted``, ``refused``, ``withdrawn`` or ``objected``.
- ``occurred_at``: ISO 8601 (``2026-05-01T10:00:00+02:00``; no offset means UTC); default now.
- ``method``: ``import`` (default), ``page``, ``api`` or ``admin``.
- ``source_id``, ``text_version``, ``text_hash``, ``language``, ``policy_version``, ``actor``,
  ``evidence``: free text; ``expires_at``: ISO 8601 like ``occurred_at``.

The whole file is validated first; any error (reported with its line number) means nothing is
written. Valid files are written in one transaction. ``consent export --format csv`` writes the
same columns (plus ``id`` and ``controller``), so an export can be imported elsewhere.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from cli.dbcmd import BAD_INPUT, UsageError, add_config_option, load, open_ledger, run
from store.events import EventView
from store.ledger import Ledger
from store.state import ConsentState
from store.transfer import read_events, write_csv

STATE_OF = {"grant": "granted", "refuse": "refused", "withdraw": "withdrawn", "object": "objected"}


def _purposes(value: str) -> list[str]:
    purposes = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    if not purposes:
        raise argparse.ArgumentTypeError("at least one purpose")
    return purposes


async def record(args: argparse.Namespace) -> int:
    ledger = await open_ledger(load(args))
    try:
        ids = await ledger.record(
            args.address,
            args.purpose,
            STATE_OF[args.consent_command],
            method=args.method,
            source_id=args.source,
            evidence=args.evidence,
            text_version=args.text_version,
            language=args.language,
            actor=args.actor or getpass.getuser(),
        )
        state = await ledger.state(args.address)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        await ledger.db.dispose()
    print(f"recorded event{'s' if len(ids) != 1 else ''} {', '.join(map(str, ids))}")
    _print_state(state)
    return 0


def _print_state(state: ConsentState) -> None:
    print(
        f"address:    {state.recipient}{'  (suppressed after erasure)' if state.suppressed else ''}"
    )
    for purpose in ("open_tracking", "click_tracking"):
        current = state.of(purpose)
        note = "expired" if current.expires_at and not current.granted and current.event_id else ""
        since = f" since {current.since.isoformat()}" if current.since else ""
        print(f"{purpose + ':':<16}{current.status.value}{since} {note}".rstrip())


def _print_event(event: EventView) -> None:
    extra = {
        k: v
        for k, v in event.as_json().items()
        if v is not None
        and k not in {"id", "recipient", "purpose", "state", "occurred_at", "method", "controller"}
    }
    details = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"  #{event.id} {event.occurred_at.isoformat()} {event.controller} {event.purpose} "
        f"{event.state} via {event.method} {details}".rstrip()
    )


async def show(args: argparse.Namespace) -> int:
    ledger = await open_ledger(load(args))
    try:
        if args.json:
            print(json.dumps(await ledger.export(args.address), indent=2, ensure_ascii=False))
            return 0
        state = await ledger.state(args.address)
        history = await ledger.history(args.address)
    finally:
        await ledger.db.dispose()
    _print_state(state)
    print(f"history ({len(history)} event{'s' if len(history) != 1 else ''}):")
    for event in history:
        _print_event(event)
    return 0


async def erase(args: argparse.Namespace) -> int:
    ledger = await open_ledger(load(args))
    try:
        receipt = await ledger.erase(args.address)
    finally:
        await ledger.db.dispose()
    kept = ", ".join(f"{p} {s} ({c})" for c, p, s in receipt.suppressed) or "nothing"
    print(f"erased {receipt.events_deleted} events; suppression kept: {kept}")
    return 0


async def import_csv(args: argparse.Namespace) -> int:
    config = load(args)
    events, problems = read_events(args.file, config.store.controller, progress=sys.stderr)
    if problems:
        for problem in problems[:100]:
            print(problem, file=sys.stderr)
        more = len(problems) - 100
        if more > 0:
            print(f"... and {more} more", file=sys.stderr)
        print(f"{args.file}: {len(problems)} problems; nothing imported", file=sys.stderr)
        return BAD_INPUT
    if args.dry_run:
        print(f"{args.file}: {len(events)} events valid (dry run: nothing written)")
        return 0
    ledger = await open_ledger(config)
    print(f"writing {len(events)} events in one transaction...", file=sys.stderr, flush=True)
    try:
        count = await ledger.insert_many(events)
    finally:
        await ledger.db.dispose()
    print(f"{args.file}: imported {count} events in one transaction")
    return 0


async def export(args: argparse.Namespace) -> int:
    ledger: Ledger = await open_ledger(load(args))
    out = sys.stdout
    try:
        if args.format == "csv":
            count = await write_csv(ledger.iter_all(), out)
        else:
            count = 0
            out.write('{"schema_version": 1, "events": [\n')
            async for event in ledger.iter_all():
                out.write(("," if count else "") + json.dumps(event.as_json(), ensure_ascii=False))
                out.write("\n")
                count += 1
            out.write("]}\n")
    finally:
        await ledger.db.dispose()
    print(f"exported {count} events", file=sys.stderr)
    return 0


def _recorders(commands: Any) -> None:
    for name, state in STATE_OF.items():
        sub = commands.add_parser(name, help=f"record that ADDR {state} consent")
        sub.add_argument("address", metavar="ADDR")
        sub.add_argument(
            "--purpose",
            type=_purposes,
            required=True,
            help="open_tracking, click_tracking, or both separated by commas",
        )
        sub.add_argument("--source", default=None, help="where it came from (ticket, CRM id)")
        sub.add_argument("--evidence", default=None, help="free-text evidence (what was said)")
        sub.add_argument("--text-version", default=None, help="version of the consent text shown")
        sub.add_argument("--language", default=None)
        sub.add_argument("--method", default="admin", choices=["admin", "api", "page", "import"])
        sub.add_argument("--actor", default=None, help="who records it (default: your login)")
        add_config_option(sub)
        sub.set_defaults(func=run(record))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("consent", help="consent ledger administration")
    commands = parser.add_subparsers(dest="consent_command", required=True, metavar="COMMAND")
    _recorders(commands)
    shower = commands.add_parser("show", help="current state and full history of an address")
    shower.add_argument("address", metavar="ADDR")
    shower.add_argument("--json", action="store_true", help="data-subject export (JSON)")
    add_config_option(shower)
    shower.set_defaults(func=run(show))
    eraser = commands.add_parser("erase", help="erase an address, keeping a hashed refusal")
    eraser.add_argument("address", metavar="ADDR")
    add_config_option(eraser)
    eraser.set_defaults(func=run(erase))
    importer = commands.add_parser("import", help="import events from CSV (all or nothing)")
    importer.add_argument("file", metavar="FILE.csv")
    importer.add_argument("--dry-run", action="store_true", help="validate only")
    add_config_option(importer)
    importer.set_defaults(func=run(import_csv))
    exporter = commands.add_parser("export", help="every event, to standard output")
    exporter.add_argument("--format", choices=["csv", "json"], default="csv")
    add_config_option(exporter)
    exporter.set_defaults(func=run(export))
