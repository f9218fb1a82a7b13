"""``consent-relay db upgrade``, plus the config and store plumbing the other commands share.

Every command here prints one clear message on error and returns 2 for bad input (file,
address, option) or 1 when the store fails; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from cli.config import Config, load_config
from policy.tomlfile import FileError
from store.addresses import AddressError
from store.cache import ConsentCache
from store.db import Database
from store.ledger import Ledger

DEFAULT_CONFIG = Path("config.example.toml")
BAD_INPUT = 2
STORE_FAILED = 1


class UsageError(Exception):
    """Bad input an admin can fix; printed as is, exit status 2."""


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"configuration file (default: {DEFAULT_CONFIG} if it exists, else built-in defaults)",
    )


def load(args: argparse.Namespace) -> Config:
    path: Path | None = args.config
    if path is None:
        return load_config(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else Config()
    if not path.exists():
        raise UsageError(f"{path}: no such configuration file")
    return load_config(path)


async def open_ledger(config: Config, *, migrate: bool = True) -> Ledger:
    """The ledger on a migrated store: a newcomer may grant consent before the first serve.

    Read-only commands pass ``migrate=False`` so they never create a database as a side effect.
    """
    store = config.store
    db = Database(store.url)
    if migrate:
        with contextlib.suppress(Exception):  # unreachable store: the command reports it
            await db.upgrade("heads")
    return Ledger(db, store.hash_key, store.controller, keep_ip=store.record_ip)


def cache_of(ledger: Ledger) -> ConsentCache:
    """No caching in one-shot commands: every answer comes from the store."""
    return ConsentCache(ledger, ttl_seconds=0, timeout=10.0)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


Action = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def run(action: Action) -> Callable[[argparse.Namespace], int]:
    """Wrap an async command: errors become one line on stderr and an exit status."""

    def command(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(action(args))
        except FileError as exc:
            print(str(exc), file=sys.stderr)
            return BAD_INPUT
        except (UsageError, AddressError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return BAD_INPUT
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return STORE_FAILED
        except Exception as exc:  # store failures: one line, no traceback
            print(f"store error: {first_line(exc)}", file=sys.stderr)
            return STORE_FAILED

    return command


async def upgrade(args: argparse.Namespace) -> int:
    config = load(args)
    db = Database(config.store.url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    print(f"database upgraded to the latest schema ({db.engine.url.render_as_string()})")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="database schema")
    commands = parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = commands.add_parser("upgrade", help="create or migrate the store to the latest schema")
    add_config_option(up)
    up.set_defaults(func=run(upgrade))
