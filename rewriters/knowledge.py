"""Tracker knowledge loaded from ``data/trackers.toml`` and matched against URLs.

Matching stays linear in the URL: the host's last two labels select the few listed suffixes it
can end with (a run of digits in a label may match ``#``), and the compiled path rules run only
on URLs whose host or first path segment selects them. Nothing here scans a whole document,
which is what sank Firefox Relay's 214-regex matcher (MPP-4739).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

from rewriters.decoders import UrlParts, decode, query_value, raw_query_value

MAX_PATH = 4096
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Rule:
    """One path/query signature; ``decoder`` names how to recover a wrapped destination."""

    vendor: str
    kind: str
    path: re.Pattern[str] | None
    query: tuple[str, str | None] | None
    decoder: str | None
    arg: str


@dataclass(frozen=True)
class Vendor:
    name: str
    hosts: tuple[str, ...]
    host_kind: str
    rules: tuple[Rule, ...]
    examples: tuple[dict[str, str], ...]


class Match(NamedTuple):
    """A vendor signature hit. ``kind`` ``any`` means the caller's context decides."""

    vendor: str
    kind: str
    parts: UrlParts
    rule: Rule | None = None

    def destination(self) -> str | None:
        """The wrapped destination when the rule's decoder can recover it offline."""
        if self.rule is None or self.rule.decoder is None:
            return None
        return decode(self.rule.decoder, self.parts, self.rule.arg)


@dataclass
class Knowledge:
    """Everything ``trackers.toml`` says, indexed for constant-time candidate selection."""

    version: int
    vendors: list[Vendor]
    by_host: dict[str, list[Vendor]] = field(default_factory=dict)
    by_segment: dict[str, list[Rule]] = field(default_factory=dict)
    per_person: frozenset[str] = frozenset()
    campaign: frozenset[str] = frozenset()
    spacer_names: frozenset[str] = frozenset()
    tracking_tokens: tuple[str, ...] = ()
    protected_words: tuple[str, ...] = ()
    # last two labels of a listed host -> (".suffix", suffix, vendors), shortest first
    by_tail: dict[str, list[tuple[str, str, list[Vendor]]]] = field(default_factory=dict)

    def match(self, parts: UrlParts, vendors: list[Vendor] | None = None) -> Match | None:
        """Vendor signature for this URL, or ``None``; never scans more than the URL.
        ``vendors`` is ``host_vendors(parts.host)`` when the caller already has it."""
        path = parts.path[:MAX_PATH]
        if vendors is None:
            vendors = self.host_vendors(parts.host)
        for vendor in vendors:
            for rule in vendor.rules:
                if _rule_matches(rule, path, parts.query):
                    return Match(vendor.name, rule.kind, parts, rule)
        segment = path.split("/", 2)[1].lower() if path.count("/") >= 1 else ""
        for key in (segment, "*"):
            for rule in self.by_segment.get(key, ()):
                if _rule_matches(rule, path, parts.query):
                    return Match(rule.vendor, rule.kind, parts, rule)
        for vendor in vendors:
            if vendor.host_kind:
                return Match(vendor.name, vendor.host_kind, parts)
        return None

    def host_vendors(self, host: str) -> list[Vendor]:
        """Vendors owning a suffix of ``host`` (as itself, then with digit runs read as ``#``),
        shortest suffix first. Any listed suffix ends in the host's last two labels, so those
        select the few candidates: constant work even for a hostile 50,000-label host."""
        cut = host.rfind(".", 0, host.rfind("."))
        tail = host[cut + 1 :]
        found = _suffix_vendors(host, self.by_tail.get(tail, ()))
        if _DIGITS.search(host):
            candidates = self.by_tail.get(_DIGITS.sub("#", tail))
            if candidates:
                found += _suffix_vendors(_DIGITS.sub("#", host), candidates)
        return found


def _suffix_vendors(form: str, candidates: Iterable[tuple[str, str, list[Vendor]]]
                    ) -> list[Vendor]:
    found: list[Vendor] = []
    for dotted, suffix, vendors in candidates:
        if form == suffix or form.endswith(dotted):
            found.extend(vendors)
    return found


def _rule_matches(rule: Rule, path: str, query: str) -> bool:
    if rule.path is not None and not rule.path.match(path):
        return False
    if rule.query is None:
        return True
    name, wanted = rule.query
    if wanted is None:  # presence only: no need to percent-decode the value
        return raw_query_value(query, name) is not None
    return query_value(query, name) == wanted


def _rule(vendor: str, raw: dict[str, Any]) -> Rule:
    query = raw.get("query")
    parsed_query: tuple[str, str | None] | None = None
    if query:
        name, eq, value = str(query).partition("=")
        parsed_query = (name, value if eq else None)
    return Rule(
        vendor=vendor,
        kind=str(raw["kind"]),
        path=re.compile(raw["path"]) if raw.get("path") else None,
        query=parsed_query,
        decoder=raw.get("decoder"),
        arg=str(raw.get("arg", "")),
    )


def _index(knowledge: Knowledge, raw_vendors: list[dict[str, Any]]) -> None:
    for raw in raw_vendors:
        name = str(raw["name"])
        host_rules: list[Rule] = []
        for raw_rule in raw.get("rules", []):
            rule = _rule(name, raw_rule)
            if raw_rule.get("any_host"):
                for segment in str(raw_rule.get("segment", "*")).lower().split(" ") or [""]:
                    knowledge.by_segment.setdefault(segment, []).append(rule)
            else:
                host_rules.append(rule)
        vendor = Vendor(name, tuple(raw.get("hosts", [])), str(raw.get("host_kind", "")),
                        tuple(host_rules), tuple(raw.get("examples", [])))
        knowledge.vendors.append(vendor)
        for host in vendor.hosts:
            knowledge.by_host.setdefault(host.lower(), []).append(vendor)
    for host in sorted(knowledge.by_host, key=lambda h: h.count(".")):
        if "." in host:  # one label is a TLD, never looked up: vendors list their domains
            entry = ("." + host, host, knowledge.by_host[host])
            knowledge.by_tail.setdefault(".".join(host.split(".")[-2:]), []).append(entry)


def parse(text: str) -> Knowledge:
    """Build the index from TOML text (tests feed variants; production uses :data:`KNOWLEDGE`)."""
    data = tomllib.loads(text)
    params = data.get("params", {})
    heuristics = data.get("heuristics", {})
    knowledge = Knowledge(
        version=int(data["version"]),
        vendors=[],
        per_person=frozenset(p.lower() for p in params.get("per_person", [])),
        campaign=frozenset(p.lower() for p in params.get("campaign", [])),
        spacer_names=frozenset(heuristics.get("spacer_names", [])),
        tracking_tokens=tuple(heuristics.get("tracking_tokens", [])),
        protected_words=tuple(heuristics.get("protected_words", [])),
    )
    _index(knowledge, data.get("vendors", []))
    return knowledge


def _load() -> Knowledge:
    text = resources.files("rewriters").joinpath("data/trackers.toml").read_text("utf-8")
    return parse(text)


KNOWLEDGE = _load()
