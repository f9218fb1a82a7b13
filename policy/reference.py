"""Generate ``docs/policy-reference.md`` from the pydantic models, so the doc cannot drift.

Run ``python -m policy.reference > docs/policy-reference.md``; a test fails when the committed
file differs from this output.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from policy.model import CategoryRule, Options, PolicyFile, Rule
from policy.patterns import profiles

INTRO = """\
# Policy file reference

Generated from `policy/model.py` by `python -m policy.reference`; do not edit by hand.
Start from the annotated `policy.example.toml`; check a file with
`consent-relay policy check FILE` (every problem is reported as `file:line: key: reason`, and an
invalid file is never half-loaded: at reload the running policy stays in force).

Evaluation: `[[rules]]` are tried in order and the first rule whose conditions all hold wins;
an unset condition always holds; when no rule matches, `[default]` applies. Consent conditions
never hold when the consent store is unreachable (fail closed: no consent).
"""

SECTIONS: list[tuple[str, type[BaseModel], set[str]]] = [
    ("Top level", PolicyFile, set()),
    ("`[default]` and the options every rule takes", Options, set()),
    ("`[[rules]]`: conditions", Rule, set(Options.model_fields)),
    ("`[[categories]]`", CategoryRule, set()),
]


def type_text(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or repr(annotation)
    text = re.sub(r"typing\.|policy\.model\.", "", text)
    text = text.replace("NoneType", "None")
    return text.replace("|", "\\|")


def default_text(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "*required*" if field.default_factory is None else "`[]`"
    value = field.default
    if value is None:
        return "unset"
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    return f"`{shown}`"


def table(model: type[BaseModel], skip: set[str]) -> list[str]:
    lines = ["| Key | Type | Default | Meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        description = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `{name}` | `{type_text(field.annotation)}` | {default_text(field)} | "
            f"{description} |"
        )
    return lines


def jurisdictions() -> list[str]:
    lines = [
        "## Jurisdiction profiles",
        "",
        "Defined in `policy/jurisdictions.toml`. Matching is by the recipient's top-level "
        "domain: a heuristic (a French resident on a `.com` address matches no profile), so use "
        "profiles to be stricter, never to relax a strict default.",
        "",
        "| Profile | TLDs |",
        "|---|---|",
    ]
    for name, tlds in profiles().items():
        lines.append(f"| `{name}` | {', '.join(sorted(tlds))} |")
    return lines


def render() -> str:
    lines = [INTRO]
    for title, model, skip in SECTIONS:
        doc = (model.__doc__ or "").strip().splitlines()[0]
        lines += [f"## {title}", "", doc, "", *table(model, skip), ""]
    lines += jurisdictions()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
