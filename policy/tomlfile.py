"""Load a TOML file into a pydantic model with errors that name file, line, key and reason.

Used for both the main configuration and policy files so an admin sees the same kind of
message everywhere: ``policy.toml:12: rules[2].action: Input should be 'strip', ...``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class FileError(Exception):
    """A configuration or policy file that cannot be used; ``str()`` is the admin's message."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _table_start(lines: list[str], loc: tuple[int | str, ...], start: int) -> tuple[int, int]:
    """Line index of the innermost table header named in ``loc``, and where that table ends.

    For arrays of tables (``[[rules]]``) the integer after the name picks the n-th header, and
    the table ends at the next header, so ``rules[2].id`` points into the third block.
    """
    end = len(lines)
    strings = [i for i, p in enumerate(loc) if isinstance(p, str)]
    for position in strings[:-1]:
        table = str(loc[position])
        pattern = re.compile(rf"^\s*\[+\s*([\w.\-]*\.)?{re.escape(table)}\s*\]+")
        hits = [n for n in range(start, end) if pattern.match(lines[n])]
        if not hits:
            continue
        following = loc[position + 1] if position + 1 < len(loc) else None
        array = lines[hits[0]].lstrip().startswith("[[")
        if array and isinstance(following, int) and following < len(hits):
            start = hits[following]
            header = re.compile(r"^\s*\[")
            end = next((n for n in range(start + 1, len(lines)) if header.match(lines[n])), end)
        else:
            start, end = hits[0], len(lines)
    return start, end


def find_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line of the key named by ``loc`` (last string key, after its table header)."""
    lines = text.splitlines()
    keys = [p for p in loc if isinstance(p, str)]
    if not keys:
        return None
    start, end = _table_start(lines, loc, 0)
    tables = keys[:-1]
    index = [p for p in loc if isinstance(p, int)]
    key = re.compile(rf"^\s*\"?{re.escape(keys[-1])}\"?\s*=")
    header = re.compile(rf"^\s*\[+\s*([\w.\-]*\.)?{re.escape(keys[-1])}\s*\]+")
    hits = [n for n in range(start, end) if key.match(lines[n]) or header.match(lines[n])]
    if not hits:
        return start + 1 if tables else None
    if index and len(hits) > index[0] and not key.match(lines[hits[0]]):
        return hits[index[0]] + 1
    return hits[0] + 1


def load_model(path: Path, model: type[M], overrides: dict[str, Any] | None = None) -> M:
    """Read, parse and validate; raise :class:`FileError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise FileError(path, [f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8"]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileError(path, [f"{path}: TOML syntax error: {exc}"]) from exc
    except RecursionError as exc:
        raise FileError(path, [f"{path}: nested too deeply to be a valid file"]) from exc
    if overrides:
        data.update(overrides)
    return validate(path, text, data, model)


def validate(path: Path, text: str, data: dict[str, Any], model: type[M]) -> M:
    """Validate already-parsed data, mapping pydantic locations back to file lines."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = find_line(text, loc)
            where = f"{path}:{line}" if line else f"{path}"
            reason = error["msg"]
            if error["type"] == "extra_forbidden":
                reason = "unknown key (check the spelling; see the reference in docs/)"
            problems.append(f"{where}: {_loc_text(loc)}: {reason}")
        raise FileError(path, problems) from exc
