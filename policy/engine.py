"""A loaded policy and the pure function from (sender, recipient, consent, category) to Decision.

Rules are tried in file order and the first whose conditions all hold wins; otherwise
``[default]`` applies. No I/O here: consent is looked up by the caller (``policy.service``).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from policy.decision import Decision
from policy.model import CATEGORIES, ConsentCondition, Options, PolicyFile, Rule
from policy.patterns import matches, profiles, tld
from policy.tomlfile import FileError, find_line, validate
from rewriters.treatment import Action, Purpose, Treatment
from store.addresses import AddressError, normalize
from store.state import ConsentState, ConsentStatus

ALL_PURPOSES = frozenset(Purpose)
DEFAULT_RULE = "default"


def category_of(value: str | None) -> str | None:
    """Header value -> known category (``One-To-One Sales`` -> ``one_to_one_sales``) or None."""
    if not value:
        return None
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in CATEGORIES else None


def sender_key(sender: str) -> str:
    """Normalised envelope sender; the null sender or a malformed one stays as lowercase text."""
    try:
        return normalize(sender)
    except AddressError:
        return sender.strip().strip("<>").lower()


def _consent_holds(condition: ConsentCondition, consent: ConsentState) -> bool:
    granted = [consent.granted(p) for p in Purpose]
    if condition == "any_granted":
        return any(granted)
    if condition == "all_granted":
        return all(granted)
    if condition == "none":
        return not any(granted)
    assert isinstance(condition, dict)
    for purpose, wanted in condition.items():
        status = consent.of(purpose).status if consent.reachable else ConsentStatus.UNKNOWN
        ok = not consent.granted(purpose) if wanted == "not_granted" else status.value == wanted
        if not ok:
            return False
    return True


def treatment_of(options: Options, consent: ConsentState) -> Treatment:
    """Options plus the recipient's consent -> the Treatment the rewriters apply."""
    action = Action(options.action)
    if action in (Action.STRIP, Action.REPORT):
        strip = ALL_PURPOSES
    else:
        strip = frozenset(Purpose(p) for p in options.strip_purposes)
        if options.strip_unconsented:
            strip |= {p for p in Purpose if not consent.granted(p)}
    disclose = action is Action.DISCLOSE
    vendors = options.allowed_vendors
    return Treatment(
        action=action,
        strip_purposes=frozenset(strip),
        allowed_vendors=None if vendors is None else frozenset(vendors),
        opaque_links=options.opaque_links,
        footer_language=options.footer_language,
        footer_template=options.footer_template,
        per_recipient=disclose if options.per_recipient is None else options.per_recipient,
        route_through_relay=(
            disclose if options.route_through_relay is None else options.route_through_relay
        ),
        esp_switches_off=(
            action is Action.STRIP if options.esp_switches_off is None else options.esp_switches_off
        ),
        uncleanable=options.uncleanable,
    )


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its patterns and TLD sets resolved once at load time."""

    rule: Rule
    tlds: frozenset[str] | None

    @classmethod
    def of(cls, rule: Rule) -> CompiledRule:
        tlds: set[str] | None = None
        if rule.recipient_tlds is not None or rule.jurisdiction is not None:
            tlds = set(rule.recipient_tlds or [])
            for name in rule.jurisdiction or []:
                tlds |= profiles()[name]
        return cls(rule, None if tlds is None else frozenset(tlds))

    def why_not(
        self, sender: str, recipient: str, consent: ConsentState, category: str | None
    ) -> str | None:
        """The first condition that fails (for ``policy explain``), or None when it matches."""
        rule = self.rule
        if rule.sender is not None and not matches(sender, tuple(rule.sender)):
            return "sender"
        if rule.recipient is not None and not matches(recipient, tuple(rule.recipient)):
            return "recipient"
        if self.tlds is not None and tld(recipient) not in self.tlds:
            return "jurisdiction" if rule.jurisdiction else "recipient_tlds"
        if rule.category is not None and category not in rule.category:
            return "category"
        if rule.consent is not None and not _consent_holds(rule.consent, consent):
            return "consent"
        return None


class Policy:
    """A validated policy file; ``version`` is the first 12 hex digits of its SHA-256."""

    def __init__(self, model: PolicyFile, version: str, path: Path | None = None) -> None:
        self.model = model
        self.version = version
        self.path = path
        self.rules = tuple(CompiledRule.of(rule) for rule in model.rules)

    @classmethod
    def from_text(cls, text: str, path: Path = Path("<policy>")) -> Policy:
        return cls.from_bytes(text.encode("utf-8"), path)

    @classmethod
    def from_bytes(cls, raw: bytes, path: Path) -> Policy:
        """Parse and validate everything first: a bad file raises and never half-loads."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileError(path, [f"{path}: not UTF-8 text ({exc.reason})"]) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FileError(path, [f"{path}: TOML syntax error: {exc}"]) from exc
        except RecursionError as exc:
            raise FileError(path, [f"{path}: nested too deeply to be a policy file"]) from exc
        model = validate(path, text, data, PolicyFile)
        _check_unique_ids(path, text, model)
        return cls(model, hashlib.sha256(raw).hexdigest()[:12], path)

    @classmethod
    def load(cls, path: Path) -> Policy:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise FileError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from exc
        return cls.from_bytes(raw, path)

    def category(self, sender: str, header: str | None) -> str | None:
        """The header's category if it names a known one, else the first sender category."""
        found = category_of(header)
        if found is not None:
            return found
        for entry in self.model.categories:
            if matches(sender, tuple(entry.sender)):
                return entry.set_category
        return None

    def decide(
        self, sender: str, recipient: str, consent: ConsentState, category: str | None = None
    ) -> Decision:
        """First matching rule wins, else the default. ``recipient`` must be normalised."""
        sender = sender_key(sender)
        found = self.category(sender, category)
        for compiled in self.rules:
            if compiled.why_not(sender, recipient, consent, found) is None:
                rule = compiled.rule
                return Decision(treatment_of(rule, consent), rule.id, self.version, consent, found)
        treatment = treatment_of(self.model.default, consent)
        return Decision(treatment, DEFAULT_RULE, self.version, consent, found)

    def trace(
        self, sender: str, recipient: str, consent: ConsentState, category: str | None = None
    ) -> list[tuple[str, str | None]]:
        """(rule id, failing condition or None) for each rule up to the first match."""
        sender = sender_key(sender)
        found = self.category(sender, category)
        out: list[tuple[str, str | None]] = []
        for compiled in self.rules:
            reason = compiled.why_not(sender, recipient, consent, found)
            out.append((compiled.rule.id, reason))
            if reason is None:
                break
        return out


def _check_unique_ids(path: Path, text: str, model: PolicyFile) -> None:
    seen: dict[str, int] = {}
    problems = []
    for index, rule in enumerate(model.rules):
        if rule.id in seen:
            line = find_line(text, ("rules", index, "id"))
            where = f"{path}:{line}" if line else str(path)
            problems.append(
                f"{where}: rules[{index}].id: duplicate rule id {rule.id!r} "
                f"(first used by rules[{seen[rule.id]}])"
            )
        else:
            seen[rule.id] = index
    if problems:
        raise FileError(path, problems)
