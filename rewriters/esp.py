"""ESP tracking switches: header edits that turn an ESP's own open and click tracking off.

When the relay forwards to an ESP smart host (Mailgun, SendGrid, ...), tracking is added after
us, so for a recipient whose treatment is strip the relay tells the ESP, per message, not to add
it. The profiles are data (``rewriters/data/esp_profiles.toml``, documented in
``docs/esp-profiles.md``); this module only applies them. Pure functions: bytes in, bytes and
notes out; only the header block is edited (:mod:`rewriters.headers`), the body is not touched.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rewriters.headers import line_ending, parse_fields, prepend_fields, remove_fields

PROFILES = ("generic", "mailgun", "postmark", "sendgrid", "mailjet", "sparkpost", "ses", "mandrill")

# A header line stays well under RFC 5322's 998-octet limit; longer JSON is folded at spaces.
_FOLD_AT = 76


@dataclass(frozen=True)
class JsonSwitch:
    """A JSON-valued header (``X-SMTPAPI``, ``X-MSYS-API``) and the paths to set in it."""

    header: str
    settings: tuple[tuple[tuple[str, ...], object], ...]


@dataclass(frozen=True)
class EspProfile:
    """One ESP's per-message switches, as loaded from the profile table."""

    name: str
    remove: tuple[str, ...]
    add: tuple[tuple[str, str], ...]
    json: JsonSwitch | None
    warnings: tuple[str, ...]
    source: str


def _parse_profile(name: str, table: dict[str, Any]) -> EspProfile:
    json_table = table.get("json")
    switch = None
    if json_table is not None:
        switch = JsonSwitch(
            header=str(json_table["header"]),
            settings=tuple((tuple(str(path).split(".")), value)
                           for path, value in json_table["settings"]),
        )
    return EspProfile(
        name=name,
        remove=tuple(str(n) for n in table.get("remove", [])),
        add=tuple((str(n), str(v)) for n, v in table.get("add", [])),
        json=switch,
        warnings=tuple(str(w) for w in table.get("warnings", [])),
        source=str(table.get("source", "")),
    )


@cache
def profiles() -> dict[str, EspProfile]:
    """Every known profile by name (loaded once from the package data)."""
    text = resources.files("rewriters").joinpath("data/esp_profiles.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return {name: _parse_profile(name, table) for name, table in data.items()}


def get_profile(profile: str) -> EspProfile:
    """The named profile; ``ValueError`` names the known ones if it does not exist."""
    known = profiles()
    if profile not in known:
        raise ValueError(f"unknown ESP profile {profile!r}; known: {', '.join(sorted(known))}")
    return known[profile]


def warnings(profile: str) -> list[str]:
    """What this profile cannot switch off per message; ``config check`` prints these."""
    return list(get_profile(profile).warnings)


def esp_switches(raw: bytes, profile: str) -> tuple[bytes, list[str]]:
    """Turn the ESP's open and click tracking off for this message.

    Removes header fields a sending tool set to turn tracking on, then prepends the profile's
    switches. Call it only for recipients whose treatment strips tracking. Returns the new bytes
    (``raw`` itself when the profile changes nothing) and notes for the audit log.
    """
    spec = get_profile(profile)
    notes: list[str] = []
    out = raw
    if spec.remove:
        out, removed = remove_fields(out, spec.remove)
        notes.extend(f"esp_header_removed:{name}" for name in removed)
    added: list[tuple[str, str]] = list(spec.add)
    if spec.json is not None:
        out, field, json_notes = _merge_json(out, spec.json)
        added.append(field)
        notes.extend(json_notes)
    if added:
        out = prepend_fields(out, added)
        notes.extend(f"esp_switch_added:{name.lower()}" for name, _ in added)
    if spec.name == "ses":
        notes.append("esp_no_per_message_switch:ses")
    return out, notes


def _merge_json(raw: bytes, switch: JsonSwitch) -> tuple[bytes, tuple[str, str], list[str]]:
    """Cut the JSON header and return the merged field to prepend in its place."""
    notes: list[str] = []
    merged: dict[str, Any] = {}
    wanted = switch.header.lower()
    values = [_unfold(f.value) for f in parse_fields(raw) if f.name == wanted]
    for value in values:
        try:
            parsed = json.loads(value)
        except ValueError:
            notes.append(f"esp_header_unparsable:{switch.header.lower()}")
            continue
        if isinstance(parsed, dict):
            merged = _deep_merge(merged, parsed)
        else:
            notes.append(f"esp_header_unparsable:{switch.header.lower()}")
    out, _ = remove_fields(raw, [switch.header])
    for path, setting in switch.settings:
        _set_path(merged, path, setting)
    text = json.dumps(merged, ensure_ascii=True, separators=(", ", ": "))
    folded = _fold(text, len(switch.header) + 2, line_ending(raw).decode())
    return out, (switch.header, folded), notes


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
