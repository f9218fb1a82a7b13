"""``consent-relay scan`` and ``consent-relay rewrite``: run the engine on one ``.eml`` file.

``scan`` shows what the engine finds (as a table, or JSON for scripts); ``rewrite`` writes the
message as one recipient would receive it under a treatment. Both read the file and hand the
bytes to :func:`rewriters.apply`; file errors become one line and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from cli.config import load_config
from policy.tomlfile import FileError
from rewriters import Action, RewriteContext, RewriteResult, Treatment, apply
from store.addresses import AddressError, normalize
from web.links import LinkSigner
from web.routing import routing_context

EXIT_FILE_ERROR = 2
COLUMNS = ("vendor", "kind", "where", "host", "action", "confidence", "detail")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = subparsers.add_parser("scan", help="list the trackers found in a message")
    scan.add_argument("file", type=Path, metavar="FILE.eml")
    scan.add_argument("--recipient", default=None, help="address to search URLs for")
    scan.add_argument("--json", action="store_true", help="print findings as JSON")
    scan.set_defaults(func=run_scan)

    rewrite = subparsers.add_parser("rewrite", help="rewrite a message for one recipient")
    rewrite.add_argument("file", type=Path, metavar="FILE.eml")
    rewrite.add_argument("--recipient", required=True)
    rewrite.add_argument("--treatment", required=True, choices=[a.value for a in Action])
    rewrite.add_argument("--out", type=Path, default=None, help="output file (default stdout)")
    rewrite.add_argument("--stop-url", default=None, help="stop-tracking link for the footer")
    rewrite.add_argument("--language", default="en", help="footer language (en fr de it es nl)")
    rewrite.add_argument("--consent-since", default=None, help="consent date, YYYY-MM-DD")
    rewrite.add_argument(
        "--config", type=Path, default=None,
        help="relay config: kept trackers are routed through its signed /t/ URLs and the "
        "footer gets the recipient's signed stop-tracking link, as the relay would send it",
    )
    rewrite.set_defaults(func=run_rewrite)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"consent-relay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def _table(result: RewriteResult) -> str:
    rows = [COLUMNS] + [
        tuple(str(asdict(f)[c]) for c in COLUMNS) for f in result.findings
    ]
    widths = [min(40, max(len(row[i]) for row in rows)) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell[:40].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines += [f"note: {note}" for note in result.notes]
    if result.uncleanable:
        lines.append("uncleanable: yes (part of the message could not be cleaned)")
    return "\n".join(lines)


def run_scan(args: argparse.Namespace) -> int:
    raw = _read(args.file)
    if raw is None:
        return EXIT_FILE_ERROR
    result = apply(raw, Treatment(Action.REPORT), RewriteContext(recipient=args.recipient))
    if args.json:
        payload = {"findings": [asdict(f) for f in result.findings], "notes": result.notes,
                   "uncleanable": result.uncleanable}
        print(json.dumps(payload, indent=2))
    else:
        print(_table(result))
    return 0


def context_from(args: argparse.Namespace) -> RewriteContext:
    """The rewrite context the options describe; ``--config`` adds the relay's signed URLs."""
    since = datetime.fromisoformat(args.consent_since) if args.consent_since else None
    context = RewriteContext(recipient=args.recipient, stop_tracking_url=args.stop_url,
                             consent_since=since)
    if args.config is None:
        return context
    web = load_config(args.config).web
    signer = LinkSigner(web.signing_keys, web.base_url, web.link_max_age_days)
    return dataclasses.replace(
        context,
        stop_tracking_url=args.stop_url or signer.stop_tracking_url(args.recipient),
        route_url=routing_context(web.signing_keys, web.base_url, args.recipient, "preview"),
    )


def run_rewrite(args: argparse.Namespace) -> int:
    raw = _read(args.file)
    if raw is None:
        return EXIT_FILE_ERROR
    try:
        normalize(args.recipient)
    except AddressError as exc:
        print(f"consent-relay: bad --recipient: {exc}", file=sys.stderr)
        return EXIT_FILE_ERROR
    try:
        context = context_from(args)
    except FileError as exc:
        print(f"consent-relay: config error:\n{exc}", file=sys.stderr)
        return EXIT_FILE_ERROR
    except ValueError as exc:
        print(f"consent-relay: bad --consent-since: {exc}", file=sys.stderr)
        return EXIT_FILE_ERROR
    routed = args.config is not None and args.treatment == Action.DISCLOSE.value
    treatment = Treatment(Action(args.treatment), footer_language=args.language,
                          route_through_relay=routed, per_recipient=routed)
    result = apply(raw, treatment, context)
    for note in result.notes:
        print(f"consent-relay: note: {note}", file=sys.stderr)
    if args.out is None:
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return 0
    try:
        args.out.write_bytes(result.data)
    except OSError as exc:
        print(f"consent-relay: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FILE_ERROR
    return 0
