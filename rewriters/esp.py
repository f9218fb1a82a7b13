"""ESP tracking switches: header edits that turn an ESP's own open and click tracking off.

When the relay forwards to an ESP smart host (Mailgun, SendGrid, ...), tracking is added after
us, so for each purpose a recipient has not consented to the relay tells the ESP, per message,
not to add it. The profiles are data (``rewriters/data/esp_profiles.toml``, documented in
``docs/esp-profiles.md``); this module only applies them. Pure functions: bytes in, bytes and
notes out; only the header block is edited (:mod:`rewriters.headers`), the body is not touched.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rewriters.headers import line_ending, parse_fields, prepend_fields, remove_fields
from rewriters.treatment import Purpose

PROFILES = ("generic", "mailgun", "postmark", "sendgrid", "mailjet", "sparkpost", "ses", "mandrill")
ALL_PURPOSES = frozenset(Purpose)

# A header line stays well under RFC 5322's 998-octet limit; longer JSON is folded at spaces.
_FOLD_AT = 76


@dataclass(frozen=True)
class Switch:
    """What turns one purpose (or, for ``all``, every purpose) off."""

    remove: tuple[str, ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    json: tuple[tuple[str, tuple[str, ...], object], ...] = ()
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class EspProfile:
    """One ESP's per-message switches, as loaded from the profile table."""

    name: str
    switches: dict[str, Switch]  # keys: "all" and Purpose values
    list_header: str | None
    warnings: tuple[str, ...]
    source: str

    def can_switch(self, purpose: Purpose) -> bool:
        return purpose.value in self.switches


def _switch(table: dict[str, Any]) -> Switch:
    return Switch(
        remove=tuple(str(n) for n in table.get("remove", [])),
        add=tuple((str(n), str(v)) for n, v in table.get("add", [])),
        json=tuple((str(h), tuple(str(p).split(".")), v) for h, p, v in table.get("json", [])),
        tokens=tuple(str(t).lower() for t in table.get("tokens", [])),
    )


def _parse_profile(name: str, table: dict[str, Any]) -> EspProfile:
    keys = ["all", *(p.value for p in Purpose)]
    return EspProfile(
        name=name,
        switches={k: _switch(table[k]) for k in keys if k in table},
        list_header=table.get("list_header"),
        warnings=tuple(str(w) for w in table.get("warnings", [])),
        source=str(table.get("source", "")),
    )


@cache
def profiles() -> dict[str, EspProfile]:
    """Every known profile by name (loaded once from the package data)."""
    text = resources.files("rewriters").joinpath("data/esp_profiles.toml").read_text("utf-8")
    return {name: _parse_profile(name, table) for name, table in tomllib.loads(text).items()}


def get_profile(profile: str) -> EspProfile:
    """The named profile; ``ValueError`` names the known ones if it does not exist."""
    known = profiles()
    if profile not in known:
        raise ValueError(f"unknown ESP profile {profile!r}; known: {', '.join(sorted(known))}")
    return known[profile]


def warnings(profile: str) -> list[str]:
    """What this profile cannot switch off per message; ``config check`` prints these."""
    return list(get_profile(profile).warnings)


def esp_switches(
    raw: bytes, profile: str, purposes: Iterable[Purpose | str] | None = None
) -> tuple[bytes, list[str]]:
    """Turn the ESP's tracking off for ``purposes`` (default: open and click tracking).

    Call it with the purposes the recipient's treatment strips (every purpose under strip; the
    unconsented ones under permit/disclose). Removes header fields a sending tool set to turn
    those purposes on, then prepends the profile's switches. Returns the new bytes (``raw``
    itself when nothing changes, e.g. ``generic``, ``ses`` or no purpose) and notes for the
    audit log.
    """
    spec = get_profile(profile)
    off = ALL_PURPOSES if purposes is None else frozenset(Purpose(p) for p in purposes)
    notes: list[str] = []
    if not off:
        return raw, notes
    if spec.name == "ses":
        return raw, ["esp_no_per_message_switch:ses"]
    chosen = [spec.switches[p.value] for p in sorted(off) if spec.can_switch(p)]
    every = off == ALL_PURPOSES or (spec.list_header is not None and not _has(raw, spec))
    if every and "all" in spec.switches:
        chosen.insert(0, spec.switches["all"])
        if off != ALL_PURPOSES:
            notes.append(f"esp_switch_coarse:{spec.name}")
    out = raw
    removed: list[str] = []
    for switch in chosen:
        out, cut = remove_fields(out, switch.remove)
        removed.extend(cut)
    notes.extend(f"esp_header_removed:{name}" for name in removed)
    added: list[tuple[str, str]] = [pair for switch in chosen for pair in switch.add]
    if not every and spec.list_header is not None:
        out, pair = _drop_tokens(out, spec.list_header, {t for s in chosen for t in s.tokens})
        added.extend(pair)
    out, json_fields, json_notes = _merge_json(out, [j for s in chosen for j in s.json])
    added.extend(json_fields)
    notes.extend(json_notes)
    if added:
        out = prepend_fields(out, added)
        notes.extend(f"esp_switch_added:{name.lower()}" for name, _ in added)
    return out, notes


def _has(raw: bytes, spec: EspProfile) -> bool:
    wanted = (spec.list_header or "").lower()
    return any(f.name == wanted for f in parse_fields(raw))


def _drop_tokens(raw: bytes, header: str, tokens: set[str]) -> tuple[bytes, list[tuple[str, str]]]:
    """Remove ``tokens`` from a comma-separated list header; keep the rest in one field."""
    wanted = header.lower()
    values = [_unfold(f.value) for f in parse_fields(raw) if f.name == wanted]
    kept = [t.strip() for v in values for t in v.split(",")
            if t.strip() and t.strip().lower() not in tokens]
    out, _ = remove_fields(raw, [header])
    return out, [(header, ",".join(kept))]


def _merge_json(
    raw: bytes, settings: list[tuple[str, tuple[str, ...], object]]
) -> tuple[bytes, list[tuple[str, str]], list[str]]:
    """Cut each JSON header named in ``settings``; return the merged fields to prepend."""
    notes: list[str] = []
    fields: list[tuple[str, str]] = []
    out = raw
    for header in dict.fromkeys(h for h, _, _ in settings):
        wanted = header.lower()
        merged: dict[str, Any] = {}
        for value in (_unfold(f.value) for f in parse_fields(out) if f.name == wanted):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                merged = _deep_merge(merged, parsed)
            else:
                notes.append(f"esp_header_unparsable:{wanted}")
        out, _ = remove_fields(out, [header])
        for name, path, setting in settings:
            if name == header:
                _set_path(merged, path, setting)
        text = json.dumps(merged, ensure_ascii=True, separators=(", ", ": "))
        fields.append((header, _fold(text, len(header) + 2, line_ending(raw).decode())))
    return out, fields, notes


def _unfold(value: bytes) -> str:
    """RFC 5322 unfolding: drop the line breaks, keep every other character."""
    return value.replace(b"\r\n", b"").replace(b"\n", b"").decode("utf-8", "replace").strip()


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def _fold(text: str, used: int, eol: str) -> str:
    """Fold a long JSON value at ", " boundaries (whitespace in JSON is insignificant)."""
    if used + len(text) <= _FOLD_AT:
        return text
    lines: list[str] = []
    current = ""
    width = _FOLD_AT - used
    for piece in text.split(", "):
        candidate = f"{current}, {piece}" if current else piece
        if current and len(candidate) > width:
            lines.append(current + ",")
            current = piece
            width = _FOLD_AT - 1
        else:
            current = candidate
    lines.append(current)
    return (eol + " ").join(lines)
