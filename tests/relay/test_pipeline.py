"""DATA-time steps in order: rewrite, ESP switches, DKIM, trace header."""

from __future__ import annotations

from relay.config import DkimConfig, UpstreamConfig
from relay.pipeline import PipelineSettings, run
from rewriters.treatment import Action, Purpose, RewriteContext, Treatment

MESSAGE = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nplain words\r\n"


def settings(profile: str) -> PipelineSettings:
    return PipelineSettings(UpstreamConfig(profile=profile), DkimConfig(), trace_header=False)


def test_strip_turns_every_esp_tracking_switch_off() -> None:
    prepared = run(MESSAGE, Treatment(Action.STRIP, strip_purposes=frozenset(Purpose)),
                   RewriteContext(), "t1", settings("mailgun"))
    assert b"X-Mailgun-Track-Opens: no" in prepared.data
    assert b"X-Mailgun-Track-Clicks: no" in prepared.data


def test_disclose_switches_off_only_the_purposes_without_consent() -> None:
    treatment = Treatment(Action.DISCLOSE, strip_purposes=frozenset({Purpose.OPEN_TRACKING}))
    prepared = run(MESSAGE, treatment, RewriteContext(), "t1", settings("mailgun"))
    assert b"X-Mailgun-Track-Opens: no" in prepared.data
    assert b"X-Mailgun-Track-Clicks" not in prepared.data


def test_report_mode_and_generic_upstream_leave_the_message_as_it_was() -> None:
    report = Treatment(Action.REPORT, strip_purposes=frozenset(Purpose))
    assert run(MESSAGE, report, RewriteContext(), "t1", settings("mailgun")).data == MESSAGE
    strip = Treatment(Action.STRIP, strip_purposes=frozenset(Purpose))
    assert run(MESSAGE, strip, RewriteContext(), "t1", settings("generic")).data == MESSAGE
