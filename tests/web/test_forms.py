"""CSRF fields of the consent forms: bound to link, form, language and time; keys rotate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.forms import FormError, FormFields, FormGuard

HOUR = timedelta(hours=1)


def test_a_fresh_form_checks_out_for_its_own_link_form_and_language() -> None:
    guard = FormGuard(["k"], HOUR)
    fields = guard.issue("token-a", "choices", "en")
    guard.check("token-a", "choices", "en", fields)
    for token, form, lang in (
        ("token-b", "choices", "en"),
        ("token-a", "request", "en"),
        ("token-a", "choices", "fr"),
    ):
        with pytest.raises(FormError):
            guard.check(token, form, lang, fields)


def test_a_form_older_than_its_lifetime_is_refused() -> None:
    guard = FormGuard(["k"], HOUR)
    shown = datetime.now(UTC) - 2 * HOUR
    fields = guard.issue("t", "choices", "en", now=shown)
    guard.check("t", "choices", "en", fields, now=shown + HOUR / 2)
    with pytest.raises(FormError, match="expired"):
        guard.check("t", "choices", "en", fields)


def test_forms_shown_before_a_key_rotation_still_check_out() -> None:
    fields = FormGuard(["old"], HOUR).issue("t", "choices", "en")
    FormGuard(["new", "old"], HOUR).check("t", "choices", "en", fields)
    with pytest.raises(FormError):
        FormGuard(["new"], HOUR).check("t", "choices", "en", fields)


@pytest.mark.parametrize("csrf", ["", "abc", "123.", ".abc", "99999999999999999999.abc"])
def test_malformed_csrf_values_are_refused_without_crashing(csrf: str) -> None:
    with pytest.raises(FormError):
        FormGuard(["k"], HOUR).check("t", "choices", "en", FormFields("nonce", csrf))


def test_the_replay_key_differs_per_button_and_per_link() -> None:
    fields = FormFields("n", "c")
    keys = {FormGuard.digest(t, fields, c) for t in ("a", "b") for c in ("grant", "withdraw")}
    assert len(keys) == 4
