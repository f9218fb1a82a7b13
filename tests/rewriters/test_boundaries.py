"""The rewriters package stands alone: pure functions, no imports of the rest of the product."""

from __future__ import annotations

import ast
from pathlib import Path

import rewriters
from rewriters import STRIP, RewriteContext, apply

PACKAGE = Path(rewriters.__file__).parent
FORBIDDEN = {"relay", "policy", "store", "aiosmtpd", "sqlalchemy", "web"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_rewriters_import_nothing_from_relay_policy_or_store() -> None:
    offenders = {p.name: _imported_roots(p) & FORBIDDEN for p in PACKAGE.glob("*.py")}
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_apply_is_deterministic_and_returns_the_same_object_when_nothing_changes() -> None:
    raw = b"From: a@shop.example\r\nContent-Type: text/html\r\n\r\n<p>plain</p>\r\n"
    first = apply(raw, STRIP, RewriteContext(recipient="alice@example.org"))
    second = apply(raw, STRIP, RewriteContext(recipient="alice@example.org"))
    assert first.data is raw and first == second
