"""``consent-relay report``: what the relay saw and did over a period, for the DPO and the admin.

Trackers by vendor, kind, sender and sender domain are how an organisation discovers tracking
tools nobody approved (an employee's Mailtrack, a signature service's pixel). Every section is
a :class:`Section` (title, headers, rows), so the table, CSV, JSON and HTML forms show the same
numbers. Consent coverage maps each recipient's TLD to the policy's jurisdiction profiles (a
heuristic, see ``policy/jurisdictions.toml``); a TLD in no profile is counted under ``other``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.patterns import profiles
from store.audit import AuditStore, Window

REMOVED = frozenset({"removed", "unwrapped", "replaced_with_text", "param_removed"})
TRACKER_HEADERS = ("found", "removed", "kept", "reported")
STACK = ("removed", "kept", "reported")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` before ``now``, or an ISO date/time (UTC if naive)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text.lower())
    if match:
        try:
            return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
        except (OverflowError, ValueError):
            raise ValueError(f"--since {text!r}: too far back") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: expected e.g. 7d, 24h, 2w or 2026-11-01") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@dataclass
class Section:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    chart: tuple[str, ...] = ()  # numeric columns drawn as one stacked bar per row (HTML)


@dataclass
class Report:
    since: datetime
    until: datetime
    totals: dict[str, int]
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _tracker_rows(counts: dict[str, dict[str, int]]) -> list[tuple[Any, ...]]:
    rows = [(name, *(c[h] for h in TRACKER_HEADERS)) for name, c in counts.items()]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _bucket(action: str) -> str:
    if action in REMOVED:
        return "removed"
    return action if action in ("kept", "reported") else "removed"


def tracker_sections(window: Window) -> list[Section]:
    """Found/removed/kept/reported by vendor, kind, sender and sender domain."""
    views: dict[str, dict[str, dict[str, int]]] = {
        k: defaultdict(lambda: dict.fromkeys(TRACKER_HEADERS, 0))
        for k in ("vendor", "kind", "sender", "domain")
    }
    vendors_of: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sender, domain, vendor, kind, action, count in window.findings:
        for view, name in (("vendor", vendor), ("kind", kind), ("sender", sender or "<>"),
                           ("domain", domain or "<>")):
            views[view][name]["found"] += count
            views[view][name][_bucket(action)] += count
        vendors_of[sender or "<>"][vendor] += count
    senders = [
        (*row, ", ".join(f"{v} {n}" for v, n in sorted(vendors_of[row[0]].items())))
        for row in _tracker_rows(views["sender"])
    ]
    return [
        Section("vendors", "Trackers by vendor", ("vendor", *TRACKER_HEADERS),
                _tracker_rows(views["vendor"]), STACK),
        Section("kinds", "Trackers by kind", ("kind", *TRACKER_HEADERS),
                _tracker_rows(views["kind"]), STACK),
        Section("senders", "Trackers by sender", ("sender", *TRACKER_HEADERS, "vendors"),
                senders, STACK),
        Section("domains", "Trackers by sender domain", ("domain", *TRACKER_HEADERS),
                _tracker_rows(views["domain"]), STACK),
    ]


def coverage_section(window: Window) -> Section:
    """Recipients per jurisdiction profile and how many had each purpose granted."""
    known = profiles()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for tld, open_status, click_status, n in window.coverage:
        names = [p for p, tlds in sorted(known.items()) if tld in tlds] or ["other"]
        some = "granted" in (open_status, click_status)
        for name in names:
            row = counts[name]
            row[0] += n
            row[1] += n if some else 0
            row[2] += n if open_status == "granted" else 0
            row[3] += n if click_status == "granted" else 0
            row[4] += 0 if some else n
    rows: list[tuple[Any, ...]] = [
        (name, *c, f"{100 * c[1] / c[0]:.1f}%") for name, c in counts.items()
    ]
    rows.sort(key=lambda r: (r[0] == "other", -r[1], r[0]))
    headers = ("profile", "recipients", "any_granted", "open_granted", "click_granted",
               "no_consent", "coverage")
    return Section("coverage", "Consent coverage by jurisdiction profile", headers, rows,
                   ("any_granted", "no_consent"))


def other_sections(window: Window) -> list[Section]:
    outcomes = sorted(window.outcomes, key=lambda r: (-r[2], r[0], r[1]))
    flagged = [
        (x["time"].isoformat(timespec="seconds"), x["trace_id"], x["sender"], x["treatment"],
         x["outcome"], "uncleanable" if x["uncleanable"] else "store unreachable")
        for x in window.flagged
    ]
    reloads = [(t.isoformat(timespec="seconds"), e, v, d) for t, e, v, d in window.reloads]
    return [
        Section("outcomes", "Treatments and outcomes",
                ("treatment", "outcome", "messages", "recipients"), outcomes, ("messages",)),
        Section("flagged", "Uncleanable messages and store-unreachable events",
                ("time", "trace_id", "sender", "treatment", "outcome", "flag"), flagged),
        Section("reloads", "Policy loads and reloads", ("time", "event", "version", "detail"),
                reloads),
    ]


async def build_report(store: AuditStore, since: datetime, until: datetime | None = None) -> Report:
    until = until or datetime.now(UTC)
    window = await store.window(since, until)
    totals = dict(window.flags)
    totals["trackers_found"] = sum(r[5] for r in window.findings)
    totals["trackers_removed"] = sum(r[5] for r in window.findings if r[4] in REMOVED)
    totals["policy_reload_failures"] = sum(1 for r in window.reloads if r[1] == "reload_failed")
    outcomes, *flagged = other_sections(window)
    sections = [*tracker_sections(window), outcomes, coverage_section(window), *flagged]
    return Report(since, until, totals, sections)


def as_json(report: Report) -> str:
    data = {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "totals": report.totals,
        **{s.key: [dict(zip(s.headers, row, strict=True)) for row in s.rows]
           for s in report.sections},
    }
    return json.dumps(data, indent=2, default=str)


def as_csv(report: Report) -> str:
    """Long form (section, item, measure, value): one file, every number, spreadsheet-ready."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "measure", "value"))
    for name, value in report.totals.items():
        writer.writerow(("totals", "all", name, value))
    for s in report.sections:
        for row in s.rows:
            item = row[0] if s.key != "outcomes" else f"{row[0]}/{row[1]}"
            start = 2 if s.key == "outcomes" else 1
            for header, value in zip(s.headers[start:], row[start:], strict=True):
                writer.writerow((s.key, item, header, value))
    return out.getvalue()


def as_table(report: Report) -> str:
    lines = [f"consent-relay report {report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M}"
             " UTC", ""]
    lines += [f"  {k:<24} {v}" for k, v in report.totals.items()]
    for s in report.sections:
        lines += ["", s.title, *_aligned(s)]
    return "\n".join(lines) + "\n"


def _aligned(s: Section) -> list[str]:
    if not s.rows:
        return ["  (none)"]
    cells = [tuple(str(c) for c in s.headers), *[tuple(str(c) for c in r) for r in s.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(s.headers))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells]
