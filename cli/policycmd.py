"""``consent-relay policy check FILE`` and ``policy explain --from A --to B``.

``check`` lists every problem with file:line, key and reason; ``explain`` shows the treatment a
recipient would get, the rules tried (and which condition failed), and the ledger events the
consent rests on.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cli.dbcmd import BAD_INPUT, add_config_option, cache_of, first_line, load, open_ledger, run
from policy.engine import Policy
from policy.model import Options
from policy.service import Explanation, PolicyService
from policy.tomlfile import FileError, find_line
from rewriters.treatment import Treatment


def check(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        policy = Policy.load(path)
    except FileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}; not loaded", file=sys.stderr)
        return BAD_INPUT
    for warning in [*vendor_warnings(policy, path), *template_warnings(policy, path)]:
        print(warning, file=sys.stderr)
    rules = len(policy.rules)
    print(f"{path}: OK ({rules} rule{'s' if rules != 1 else ''}, version {policy.version})")
    return 0


def vendor_warnings(policy: Policy, path: Path) -> list[str]:
    """Vendors in ``allowed_vendors`` the tracker list does not know.

    Their tracking would be stripped even under consent (the safe side), so this is a warning,
    not an error; it is most likely a typo.
    """
    from rewriters.knowledge import KNOWLEDGE  # the tracker list; only this command needs it

    known = {v.name.lower() for v in KNOWLEDGE.vendors}
    text = path.read_text(encoding="utf-8")
    places: list[tuple[tuple[str | int, ...], Options]] = [(("default",), policy.model.default)]
    places += [(("rules", i), rule) for i, rule in enumerate(policy.model.rules)]
    found = []
    for loc, option in places:
        key = loc[0] if len(loc) == 1 else f"{loc[0]}[{loc[1]}]"
        for vendor in option.allowed_vendors or []:
            if vendor not in known:
                line = find_line(text, (*loc, "allowed_vendors"))
                found.append(
                    f"{path}:{line}: {key}.allowed_vendors: warning: unknown vendor {vendor!r}, "
                    f"stripped even with consent (known: {', '.join(sorted(known))})"
                )
    return found


def template_warnings(policy: Policy, path: Path) -> list[str]:
    """``footer_template`` files the relay could not read (it would fall back to the shipped
    footer and log it at send time; better to hear it now)."""
    text = path.read_text(encoding="utf-8")
    places: list[tuple[tuple[str | int, ...], Options]] = [(("default",), policy.model.default)]
    places += [(("rules", i), rule) for i, rule in enumerate(policy.model.rules)]
    found = []
    for loc, option in places:
        name = option.footer_template
        if name and not (path.parent / name).is_file():
            key = loc[0] if len(loc) == 1 else f"{loc[0]}[{loc[1]}]"
            line = find_line(text, (*loc, "footer_template"))
            found.append(f"{path}:{line}: {key}.footer_template: warning: no file {name!r} "
                         f"next to the policy; the shipped footer will be used")
    return found


def _treatment(treatment: Treatment) -> dict[str, Any]:
    data = asdict(treatment)
    data["strip_purposes"] = sorted(str(p) for p in treatment.strip_purposes)
    if treatment.allowed_vendors is not None:
        data["allowed_vendors"] = sorted(treatment.allowed_vendors)
    data["action"] = str(treatment.action)
    return data


def report(explanation: Explanation) -> dict[str, Any]:
    """JSON-ready form of an explanation (also what the text output prints)."""
    decision = explanation.decision
    consent = decision.consent
    return {
        "recipient": consent.recipient,
        "rule": decision.rule_id,
        "policy_version": decision.policy_version,
        "category": decision.category,
        "refusal": decision.refusal,
        "store_reachable": consent.reachable,
        "suppressed": consent.suppressed,
        "consent": {
            p: {
                "status": s.status.value,
                "since": s.since.isoformat() if s.since else None,
                "expires_at": s.expires_at.isoformat() if s.expires_at else None,
            }
            for p, s in sorted(consent.purposes.items())
        },
        "rules_tried": [{"id": rule, "failed_on": reason} for rule, reason in explanation.trace],
        "treatment": _treatment(decision.treatment),
        "events": [e.as_json() for e in explanation.events],
    }


def _print_text(data: dict[str, Any]) -> None:
    print(f"recipient:  {data['recipient']}")
    if data["refusal"]:
        print(f"refused:    {data['refusal']}")
        return
    print(f"rule:       {data['rule']} (policy {data['policy_version']})")
    print(f"category:   {data['category'] or '(none)'}")
    treatment = data["treatment"]
    print(f"action:     {treatment['action']}")
    print(f"strip:      {', '.join(treatment['strip_purposes']) or '(nothing)'}")
    for key in (
        "allowed_vendors",
        "opaque_links",
        "uncleanable",
        "per_recipient",
        "route_through_relay",
        "footer_language",
    ):
        print(f"  {key}: {treatment[key]}")
    if not data["store_reachable"]:
        print("consent:    store unreachable: treated as no consent")
    for purpose, state in data["consent"].items() or {}:
        print(f"consent:    {purpose}: {state['status']} since {state['since']}")
    if not data["consent"] and data["store_reachable"]:
        print("consent:    nothing on record (no consent)")
    for tried in data["rules_tried"]:
        verdict = "matched" if tried["failed_on"] is None else f"no ({tried['failed_on']})"
        print(f"rule tried: {tried['id']}: {verdict}")
    for event in data["events"]:
        print(
            f"relied on:  event {event['id']}: {event['purpose']} {event['state']} at "
            f"{event['occurred_at']} via {event['method']} (text {event['text_version']})"
        )


async def explain(args: argparse.Namespace) -> int:
    config = load(args)
    policy_file: Path = args.policy or config.policy.file
    ledger = await open_ledger(config, migrate=False)
    cache = cache_of(ledger)
    errors: list[BaseException] = []
    cache.on_store_error = errors.append
    try:
        service = PolicyService(policy_file, cache)
        explanation = await service.explain(args.sender, args.recipient, args.category)
    finally:
        await ledger.db.dispose()
    for error in errors:
        print(f"warning: consent store unreachable: {first_line(error)}", file=sys.stderr)
    data = report(explanation)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        _print_text(data)
    return BAD_INPUT if data["refusal"] else 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("policy", help="check and explain policy files")
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    checker = commands.add_parser("check", help="validate a policy file, listing every problem")
    checker.add_argument("file", type=Path, metavar="FILE")
    checker.set_defaults(func=check)
    explainer = commands.add_parser("explain", help="show the decision for one recipient")
    explainer.add_argument("--from", dest="sender", required=True, metavar="SENDER")
    explainer.add_argument("--to", dest="recipient", required=True, metavar="RECIPIENT")
    explainer.add_argument("--category", default=None, help="message category header value")
    explainer.add_argument("--policy", type=Path, default=None, help="policy file to use instead")
    explainer.add_argument("--json", action="store_true", help="machine-readable output")
    add_config_option(explainer)
    explainer.set_defaults(func=run(explain))
