"""CSV import and export of ledger events (columns documented in ``cli/consentcmd.py``).

Reading validates every row before anything is written, collecting problems with their line
numbers, so an import is all or nothing and the admin sees every mistake in one go.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from store.addresses import AddressError, normalize
from store.events import NewEvent

REQUIRED = ("recipient", "purpose", "state")
OPTIONAL = (
    "occurred_at",
    "method",
    "source_id",
    "text_version",
    "text_hash",
    "language",
    "policy_version",
    "expires_at",
    "actor",
    "evidence",
)
EXPORT_COLUMNS = ("id", "controller", *REQUIRED, *OPTIONAL, "ip")
PROGRESS_EVERY = 10_000


def parse_time(value: str) -> datetime:
    """ISO 8601; without an offset the time is taken as UTC."""
    text = value.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row_events(row: dict[str, str], controller: str, now: datetime) -> list[NewEvent]:
    values = {k: (v or "").strip() for k, v in row.items() if k is not None}
    for key in REQUIRED:
        if not values.get(key):
            raise ValueError(f"{key}: missing value")
    try:
        recipient = normalize(values["recipient"])
    except AddressError as exc:
        raise ValueError(f"recipient: {exc}") from exc
    times: dict[str, datetime | None] = {}
    for key in ("occurred_at", "expires_at"):
        try:
            times[key] = parse_time(values[key]) if values.get(key) else None
        except ValueError as exc:
            raise ValueError(f"{key}: not an ISO 8601 time ({values[key]!r})") from exc
    optional: dict[str, Any] = {
        k: values.get(k) or None
        for k in OPTIONAL
        if k not in ("occurred_at", "expires_at", "method")
    }
    events = []
    for purpose in values["purpose"].replace(",", ";").split(";"):
        event = NewEvent(
            recipient=recipient,
            purpose=purpose.strip(),
            state=values["state"],
            method=values.get("method") or "import",
            occurred_at=times["occurred_at"] or now,
            controller=controller,
            expires_at=times["expires_at"],
            **optional,
        )
        event.check()
        events.append(event)
    return events


def read_events(
    path: str | Path, controller: str, progress: IO[str] | None = None
) -> tuple[list[NewEvent], list[str]]:
    """(events, problems): problems name ``file:line: column: reason``; any problem = no import."""
    events: list[NewEvent] = []
    problems: list[str] = []
    now = datetime.now(UTC)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        return [], [f"{path}: cannot read: {exc.strerror or exc}"]
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = list(reader.fieldnames or [])
        except (csv.Error, UnicodeDecodeError) as exc:
            return [], [f"{path}:1: header: not valid CSV/UTF-8: {exc}"]
        missing = [c for c in REQUIRED if c not in header]
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        twice = sorted({c for c in header if header.count(c) > 1})
        if missing or unknown or twice:
            what = [f"missing column {c!r}" for c in missing]
            what += [f"unknown column {c!r}" for c in unknown]
            what += [f"column {c!r} appears twice" for c in twice]
            return [], [f"{path}:1: header: {'; '.join(what)}"]
        try:
            for number, row in enumerate(reader, start=1):
                try:
                    if None in row:
                        raise ValueError(
                            f"{len(header) + len(row[None])} fields, the header has "
                            f"{len(header)} (quote values that contain commas)"
                        )
                    events.extend(_row_events(row, controller, now))
                except (ValueError, OverflowError) as exc:
                    problems.append(f"{path}:{reader.line_num}: {exc}")
                if progress is not None and number % PROGRESS_EVERY == 0:
                    print(f"validated {number} rows", file=progress, flush=True)
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"{path}:{reader.line_num}: not valid CSV/UTF-8: {exc}")
    return events, problems


async def write_csv(events: AsyncIterator[Any], out: IO[str]) -> int:
    """Stream events as CSV in :data:`EXPORT_COLUMNS` order; return how many were written."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    async for event in events:
        data = event.as_json()
        writer.writerow(["" if data[c] is None else data[c] for c in EXPORT_COLUMNS])
        count += 1
    return count
