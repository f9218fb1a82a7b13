"""The policy file, as pydantic models: every key an admin may write, and nothing else.

``docs/policy-reference.md`` is generated from these models (``python -m policy.reference``), so
field descriptions here are the user documentation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policy.patterns import check_glob, profiles

ActionName = Literal["strip", "permit", "disclose", "report"]
PurposeName = Literal["open_tracking", "click_tracking"]
Category = Literal["transactional", "marketing", "one_to_one_sales"]
PurposeCondition = Literal["granted", "not_granted", "refused", "withdrawn", "objected", "unknown"]
ConsentCondition = (
    Literal["any_granted", "all_granted", "none"] | dict[PurposeName, PurposeCondition]
)
CATEGORIES: tuple[str, ...] = ("transactional", "marketing", "one_to_one_sales")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _globs(value: list[str] | None) -> list[str] | None:
    return None if value is None else [check_glob(v) for v in value]


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Options(_Strict):
    """What to do with tracking in the message: the ``[default]`` table and every rule."""

    action: ActionName = Field(
        description="strip: remove tracking; permit: leave it; disclose: leave consented "
        "tracking and add the disclosure footer; report: forward unchanged, log what strip "
        "would have changed (safe roll-out)."
    )
    allowed_vendors: list[str] | None = Field(
        default=None,
        description="Vendors (tracker ids such as 'mailchimp') that may stay under permit or "
        "disclose; every other vendor is stripped even with consent. Unset: all vendors.",
    )
    strip_purposes: list[PurposeName] = Field(
        default_factory=list,
        description="Purposes always stripped under permit/disclose (e.g. keep click tracking, "
        "strip open tracking).",
    )
    strip_unconsented: bool = Field(
        default=True,
        description="Under permit/disclose, also strip every purpose the recipient has not "
        "granted (so consent to open tracking never lets click tracking through).",
    )
    opaque_links: Literal["keep", "text"] = Field(
        default="keep",
        description="Click wrappers that cannot be unwrapped: keep the link, or replace it "
        "with its visible text.",
    )
    uncleanable: Literal["pass", "reject"] = Field(
        default="pass",
        description="Signed or encrypted mail that would need changes: pass it unchanged and "
        "report, or reject it with a 5xx reply.",
    )
    footer_language: str = Field(
        default="en",
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="Language of the disclosure footer (BCP 47, e.g. 'fr').",
    )
    footer_template: str | None = Field(
        default=None, description="Name of a custom footer template (disclose only)."
    )
    route_through_relay: bool | None = Field(
        default=None,
        description="Rewrite kept tracker URLs to the relay's signed URLs, which re-check "
        "consent at open/click time (retroactive withdrawal). Default: true for disclose.",
    )
    per_recipient: bool | None = Field(
        default=None,
        description="One SMTP transaction per recipient (the footer carries a personal "
        "stop-tracking link). Default: true for disclose.",
    )
    esp_switches_off: bool | None = Field(
        default=None,
        description="Add the headers that turn off ESP tracking (e.g. SendGrid, Mailgun). "
        "Default: true for strip.",
    )

    @field_validator("allowed_vendors")
    @classmethod
    def _vendors(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [v.strip().lower() for v in value]


class Rule(Options):
    """``[[rules]]``: conditions (all must hold; an unset condition always holds) and options."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="Unique rule name.")
    description: str = Field(default="", description="Free text for the admin.")
    sender: list[str] | None = Field(
        default=None,
        description="Envelope sender globs: 'ceo@example.com', '*@example.com', "
        "'example.com' (domain), '*.example.com' (subdomains).",
    )
    recipient: list[str] | None = Field(default=None, description="Recipient globs, as sender.")
    recipient_tlds: list[str] | None = Field(
        default=None, description="Recipient top-level domains, e.g. ['fr', 'de']."
    )
    jurisdiction: list[str] | None = Field(
        default=None,
        description="Named profiles (policy/jurisdictions.toml: eu, eea, fr, it, de, uk, "
        "us-ca, ...), matched by recipient TLD: a heuristic, see that file.",
    )
    category: list[Category] | None = Field(
        default=None, description="Message categories: transactional, marketing, one_to_one_sales."
    )
    consent: ConsentCondition | None = Field(
        default=None,
        description="'any_granted', 'all_granted', 'none' (no purpose granted), or per purpose, "
        "e.g. { open_tracking = 'granted', click_tracking = 'not_granted' }.",
    )

    _list = field_validator(
        "sender", "recipient", "recipient_tlds", "jurisdiction", "category", mode="before"
    )(_as_list)

    @field_validator("sender", "recipient")
    @classmethod
    def _check_globs(cls, value: list[str] | None) -> list[str] | None:
        return _globs(value)

    @field_validator("recipient_tlds")
    @classmethod
    def _check_tlds(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        tlds = [v.strip().lstrip(".").lower() for v in value]
        for item in tlds:
            if not item or not item.replace("-", "").isalnum():
                raise ValueError(f"bad TLD {item!r}")
        return tlds

    @field_validator("jurisdiction")
    @classmethod
    def _check_profiles(cls, value: list[str] | None) -> list[str] | None:
        known = profiles()
        for name in value or []:
            if name not in known:
                raise ValueError(f"unknown profile {name!r} (known: {', '.join(sorted(known))})")
        return value


class CategoryRule(_Strict):
    """``[[categories]]``: give mail from some senders a category when no header sets one."""

    sender: list[str] = Field(description="Envelope sender globs, as in rules.")
    set_category: Category = Field(description="The category these senders' mail gets.")

    _list = field_validator("sender", mode="before")(_as_list)

    @field_validator("sender")
    @classmethod
    def _check_globs(cls, value: list[str]) -> list[str]:
        return [check_glob(v) for v in value]


class PolicyFile(_Strict):
    """The whole policy file. Rules are tried in order; the first match wins, else default."""

    version: Literal[1] = Field(default=1, description="Policy file format version (1).")
    name: str = Field(default="", description="Free text shown in logs and explain output.")
    default: Options = Field(description="Required: the treatment when no rule matches.")
    rules: list[Rule] = Field(default_factory=list, description="Ordered rules.")
    categories: list[CategoryRule] = Field(
        default_factory=list, description="Sender-based categories (header wins over these)."
    )
