"""DATA-time steps, in the one order they run: rewrite -> ESP switches -> DKIM -> trace header.

Everything here is CPU work on bytes; the relay calls :func:`prepare` once per transaction.
Large messages are rewritten in a worker thread so one 30 MB message does not stall every
other connection's SMTP dialogue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import rewriters
from relay.config import DkimConfig, UpstreamConfig
from relay.dkim import apply_dkim
from rewriters.esp import esp_switches
from rewriters.headers import prepend_fields
from rewriters.treatment import Action, RewriteContext, RewriteResult, Treatment

THREAD_THRESHOLD = 1_000_000
TRACE_HEADER = "X-Consent-Relay-Trace"


@dataclass(frozen=True)
class PipelineSettings:
    upstream: UpstreamConfig
    dkim: DkimConfig
    trace_header: bool = True


@dataclass
class Prepared:
    """The bytes to send upstream and what the rewrite found."""

    data: bytes
    result: RewriteResult
    changed: bool
    notes: list[str]


def _esp_step(
    raw: bytes, treatment: Treatment, settings: PipelineSettings
) -> tuple[bytes, list[str]]:
    """The ESP must not add back the tracking the treatment strips (report mode: no change)."""
    if treatment.action is Action.REPORT or settings.upstream.profile == "generic":
        return raw, []
    return esp_switches(raw, settings.upstream.profile, treatment.strip_purposes)


def _dkim_step(original: bytes, data: bytes, settings: PipelineSettings) -> bytes:
    if data == original or settings.dkim.mode == "next_hop":
        return data
    return apply_dkim(original, data, settings.dkim)


def run(
    raw: bytes, treatment: Treatment, context: RewriteContext, trace_id: str,
    settings: PipelineSettings,
) -> Prepared:
    """Pure and synchronous: every step, in order."""
    result = rewriters.apply(raw, treatment, context)
    data, esp_notes = _esp_step(result.data, treatment, settings)
    data = _dkim_step(raw, data, settings)
    changed = data != raw
    if settings.trace_header:
        flag = "yes" if changed else "no"
        value = f"{trace_id}; treatment={treatment.action.value}; changed={flag}"
        data = prepend_fields(data, [(TRACE_HEADER, value)])
    if not data.endswith(b"\n"):
        data += b"\r\n"
    return Prepared(data=data, result=result, changed=changed, notes=result.notes + esp_notes)


async def prepare(
    raw: bytes, treatment: Treatment, context: RewriteContext, trace_id: str,
    settings: PipelineSettings,
) -> Prepared:
    if len(raw) >= THREAD_THRESHOLD:
        return await asyncio.to_thread(run, raw, treatment, context, trace_id, settings)
    return run(raw, treatment, context, trace_id, settings)
