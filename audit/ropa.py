"""``consent-relay ropa``: a record of processing activities (GDPR Art. 30) from what is running.

Built from facts, not from a form someone fills in once: the controller from ``[audit]``, the
tracking purposes and vendors the policy lets through (and under which conditions), the vendor
inventory seen in the decision records, and the retention table the purge enforces. It is a
draft for the DPO to complete (legal bases are the product's defaults), not legal advice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from policy.engine import Policy
from store.config import AuditConfig

SCHEMA = 1


def retention_table(config: AuditConfig) -> list[dict[str, Any]]:
    return [
        {"data": "decision records (audit_decisions, audit_recipients, audit_findings)",
         "days": config.retention_days, "from": "the decision"},
        {"data": "policy load/reload events (audit_reloads)", "days": config.reload_days,
         "from": "the event"},
        {"data": "delivery journal (duplicate suppression keys)", "days": config.journal_days,
         "from": "delivery"},
        {"data": "consent evidence (consent_events)", "days": config.consent_evidence_days,
         "from": "the last refusal, withdrawal, objection or expiry of every purpose"},
        {"data": "suppression entries (keyed hash of an erased address)", "days": None,
         "from": "kept so that a refusal survives erasure"},
    ]


def tracking_rules(policy: Policy | None) -> list[dict[str, Any]]:
    """Rules (and the default) that may keep tracking: the purposes processed under consent."""
    if policy is None:
        return []
    options = [("default", "", policy.model.default), *(
        (r.id, r.description, r) for r in policy.model.rules
    )]
    out = []
    for rule_id, description, o in options:
        if o.action not in ("permit", "disclose", "report"):
            continue
        out.append({
            "rule": rule_id, "description": description, "action": o.action,
            "allowed_vendors": o.allowed_vendors or "all",
            "always_stripped": list(o.strip_purposes),
            "only_with_consent": o.strip_unconsented and o.action != "report",
        })
    return out


def approved_vendors(rules: list[dict[str, Any]]) -> set[str] | None:
    """Vendors some consent rule may keep (lowercased, as the engine compares); None = any."""
    kept: set[str] = set()
    for rule in rules:
        if rule["action"] == "report":
            continue
        if rule["allowed_vendors"] == "all":
            return None
        kept.update(v.lower() for v in rule["allowed_vendors"])
    return kept


def _activities(config: AuditConfig, hash_scheme: str) -> list[dict[str, Any]]:
    return [
        {"name": "Enforcing consent to email tracking (consent-relay)",
         "purpose": "remove tracking from outgoing mail unless the recipient consented "
                    "(ePrivacy Art. 5(3), EDPB Guidelines 2/2023)",
         "legal_basis": "Art. 6(1)(c) / 6(1)(f) GDPR",
         "data_subjects": "recipients of the organisation's outgoing mail; staff senders",
         "data": "recipient address (in transit only), sender address, tracker URLs found",
         "retention": "not stored beyond the decision record"},
        {"name": "Consent ledger",
         "purpose": "prove consent and honour refusals, withdrawals and objections (Art. 7(1))",
         "legal_basis": "Art. 6(1)(c) GDPR", "data_subjects": "recipients",
         "data": "address, purpose, state, time, method, text version, language",
         "retention": f"{config.consent_evidence_days} days after the last refusal, "
                      "withdrawal, objection or expiry; a keyed-hash suppression entry after"},
        {"name": "Audit trail", "purpose": "accountability (Art. 5(2)): what was done to each "
         "message and why", "legal_basis": "Art. 6(1)(c) / 6(1)(f) GDPR",
         "data_subjects": "recipients (keyed hash only), senders",
         "data": f"recipient {hash_scheme}, recipient TLD, sender "
                 f"{'domain' if config.sender == 'domain' else 'address'}, trackers found",
         "retention": f"{config.retention_days} days"},
    ]


def build_ropa(
    config: AuditConfig,
    policy: Policy | None,
    vendors: list[tuple[str, str, datetime, datetime, int]],
) -> dict[str, Any]:
    scheme = "clear address" if config.clear_recipients else "keyed HMAC-SHA256 hash"
    inventory: dict[str, dict[str, Any]] = {}
    for vendor, kind, first, last, count in vendors:
        entry = inventory.setdefault(vendor, {"vendor": vendor, "kinds": [], "occurrences": 0,
                                              "first_seen": first, "last_seen": last})
        entry["kinds"].append(kind)
        entry["occurrences"] += count
        entry["first_seen"] = min(entry["first_seen"], first)
        entry["last_seen"] = max(entry["last_seen"], last)
    rules = tracking_rules(policy)
    approved = approved_vendors(rules)
    for entry in inventory.values():
        entry["approved"] = approved is None or entry["vendor"].lower() in approved
    return {
        "schema_version": SCHEMA,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "controller": {"name": config.controller_name or "(set [audit] controller_name)",
                       "contact": config.controller_contact or "(set [audit] controller_contact)",
                       "dpo": config.dpo_contact or "(set [audit] dpo_contact)"},
        "policy_version": policy.version if policy else None,
        "activities": _activities(config, scheme),
        "tracking_purposes": ["open_tracking", "click_tracking"],
        "tracking_rules": rules,
        "vendor_inventory": sorted(inventory.values(), key=lambda v: -int(v["occurrences"])),
        "retention": retention_table(config),
    }


def as_json(ropa: dict[str, Any]) -> str:
    return json.dumps(ropa, indent=2, default=lambda v: v.isoformat(timespec="seconds"))


def _md_table(rows: list[dict[str, Any]], keys: list[str]) -> list[str]:
    if not rows:
        return ["(none)"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [_md_cell(row.get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _md_cell(value: Any) -> str:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, datetime):
        value = value.date().isoformat()
    elif isinstance(value, list):
        value = ", ".join(map(str, value)) or "-"
    elif value is None:
        value = "indefinite"
    return str(value).replace("|", "\\|").replace("\n", " ")


def as_markdown(ropa: dict[str, Any]) -> str:
    c = ropa["controller"]
    lines = [
        "# Record of processing activities (GDPR Art. 30)", "",
        f"Generated {ropa['generated_at']} by consent-relay; policy version "
        f"`{ropa['policy_version']}`. A draft for the DPO to review.", "",
        "## Controller", "", f"- Name: {c['name']}", f"- Contact: {c['contact']}",
        f"- DPO: {c['dpo']}", "", "## Processing activities", "",
        *_md_table(ropa["activities"],
                   ["name", "purpose", "legal_basis", "data_subjects", "data", "retention"]),
        "", "## Tracking kept under the policy", "",
        *_md_table(ropa["tracking_rules"], ["rule", "description", "action", "allowed_vendors",
                                            "always_stripped", "only_with_consent"]),
        "", "## Tracking vendors seen in outgoing mail", "",
        *_md_table(ropa["vendor_inventory"],
                   ["vendor", "kinds", "occurrences", "first_seen", "last_seen", "approved"]),
        "", "A vendor not approved by any rule is always stripped; seeing it means someone "
        "sends mail with a tool nobody approved.",
        "", "## Retention", "", *_md_table(ropa["retention"], ["data", "days", "from"]), "",
    ]
    return "\n".join(lines)
