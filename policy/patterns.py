"""Address and domain globs in policy rules, and TLD jurisdiction profiles.

A pattern with an ``@`` matches the whole normalised address (``*@example.com``,
``ceo@example.com``); without one it matches the domain only: ``example.com`` is that domain
exactly, ``*.example.com`` its subdomains. Matching is ``fnmatch`` (``*``, ``?``, ``[...]``),
case-insensitive; Unicode domains are written as the A-labels they normalise to.
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources

import idna

_ALLOWED = re.compile(r"^[a-z0-9.*?_+\-@\[\]!'=^{}|~#$%&/`\u0080-\U0010ffff]+$")
_GLOB_CHARS = frozenset("*?[]!")


def _brackets_balanced(pattern: str) -> bool:
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                return False
            depth = 1
        elif char == "]":
            if not depth:
                return False
            depth = 0
    return depth == 0


def _domain_glob(domain: str) -> str:
    labels = []
    for label in domain.split("."):
        if label.isascii() or _GLOB_CHARS & set(label):
            labels.append(label)
        else:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
    return ".".join(labels)


def check_glob(raw: str) -> str:
    """Normalised pattern, or ValueError saying what is wrong with it."""
    pattern = raw.strip().lower()
    if not pattern:
        raise ValueError("empty pattern")
    if not _ALLOWED.match(pattern):
        raise ValueError(f"bad glob {raw!r}: spaces or characters not allowed in an address")
    if pattern.count("@") > 1:
        raise ValueError(f"bad glob {raw!r}: more than one '@'")
    if not _brackets_balanced(pattern):
        raise ValueError(f"bad glob {raw!r}: unbalanced '[' ']'")
    local, at, domain = pattern.rpartition("@")
    if at and (not local or not domain):
        raise ValueError(f"bad glob {raw!r}: expected local@domain or a domain")
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise ValueError(f"bad glob {raw!r}: misplaced dot in domain")
    try:
        domain = _domain_glob(domain)
    except idna.IDNAError as exc:
        raise ValueError(f"bad glob {raw!r}: {exc}") from exc
    return f"{local}@{domain}" if at else domain


def matches(address: str, patterns: tuple[str, ...]) -> bool:
    """True when the (normalised, lowercase) address matches any pattern."""
    domain = address.rpartition("@")[2]
    for pattern in patterns:
        subject = address if "@" in pattern else domain
        if fnmatchcase(subject, pattern):
            return True
    return False


@cache
def profiles() -> dict[str, frozenset[str]]:
    """Jurisdiction profile name -> TLDs, from ``policy/jurisdictions.toml`` (package data)."""
    text = resources.files("policy").joinpath("jurisdictions.toml").read_text("utf-8")
    data = tomllib.loads(text)["profiles"]
    return {name: frozenset(tlds) for name, tlds in data.items()}


def tld(address: str) -> str:
    return address.rpartition("@")[2].rpartition(".")[2].lower()
