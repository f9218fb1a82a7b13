"""``consent-relay config check FILE`` and ``config hash-password``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from cli.config import Config, load_config
from policy.engine import Policy
from policy.tomlfile import FileError
from relay.access import hash_password, load_users
from relay.dkim import check as dkim_check
from rewriters.esp import warnings as esp_warnings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="check the configuration file")
    commands = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = commands.add_parser("check", help="validate a config file and the files it names")
    check.add_argument("file", type=Path)
    check.set_defaults(func=check_main)
    hasher = commands.add_parser(
        "hash-password", help="print a users-file line for AUTH (reads the password from stdin)"
    )
    hasher.add_argument("user")
    hasher.set_defaults(func=hash_main)


def load_or_report(path: Path) -> Config | None:
    """Load the config, or print every problem (file:line: key: reason) and return None."""
    try:
        return load_config(path)
    except FileError as exc:
        print(f"config error:\n{exc}", file=sys.stderr)
        return None


def warnings_for(config: Config) -> list[str]:
    """Things that work but are probably not what the admin wants."""
    out: list[str] = []
    if config.relay.auth_users_file and not config.relay.tls_cert:
        out.append("[relay] auth_users_file is set but AUTH is only offered after STARTTLS, "
                   "and no tls_cert is configured")
    if config.store.hash_key.startswith("change-me"):
        out.append("[store] hash_key is the example value; set a long random secret")
    if any(k.startswith("change-me") for k in config.web.signing_keys):
        out.append("[web] signing_keys holds the example value; set a long random secret")
    if not config.upstream.verify and config.upstream.tls != "none":
        out.append("[upstream] verify = false: the upstream certificate is not checked")
    out.extend(f"[upstream] profile {config.upstream.profile}: {w}"
               for w in esp_warnings(config.upstream.profile))
    return out


def _check_files(config: Config) -> list[str]:
    problems: list[str] = []
    try:
        Policy.load(config.policy.file)
    except FileError as exc:
        problems.extend(exc.problems)
    try:
        load_users(config.relay.auth_users_file)
    except (OSError, ValueError) as exc:
        problems.append(f"[relay] auth_users_file: {exc}")
    for key, path in (("tls_cert", config.relay.tls_cert), ("tls_key", config.relay.tls_key)):
        if path is not None and not path.is_file():
            problems.append(f"[relay] {key}: {path} does not exist")
    problems.extend(dkim_check(config.dkim))
    return problems


def check_main(args: argparse.Namespace) -> int:
    config = load_or_report(args.file)
    if config is None:
        return 2
    problems = _check_files(config)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    for warning in warnings_for(config):
        print(f"warning: {warning}", file=sys.stderr)
    if problems:
        return 2
    print(f"{args.file}: OK (policy {config.policy.file})")
    return 0


def hash_main(args: argparse.Namespace) -> int:
    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
    password = password.rstrip("\n")
    if not password:
        print("error: empty password", file=sys.stderr)
        return 2
    print(f"{args.user}:{hash_password(password)}")
    return 0
