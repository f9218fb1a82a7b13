"""``consent-relay``: one console script, one module per command group.

Each command module exposes ``register(subparsers)`` and sets ``func`` on its parser; ``func``
returns the process exit code. Errors an admin can fix are printed as one clear message
(file, line, key, reason), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "cli.serve",
    "cli.sink",
    "cli.configcmd",
    "cli.scan",
    "cli.policycmd",
    "cli.consentcmd",
    "cli.dbcmd",
    "cli.reportcmd",
    "cli.ropacmd",
    "cli.purgecmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consent-relay",
        description="SMTP relay that enforces recipient consent for email tracking.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
