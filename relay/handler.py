"""aiosmtpd hooks: MAIL -> RCPT -> DATA, with the delivery semantics of architecture.md s.2.

- MAIL opens (or reuses) the upstream session and forwards MAIL FROM.
- RCPT asks the policy, pins one treatment per transaction, forwards RCPT and passes
  upstream's per-recipient answer back.
- DATA rewrites, sends the body, and answers 250 only once upstream accepted it.
Every error reply comes from :mod:`relay.errors`; nothing here returns exception text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from typing import Any

from policy.decision import Decision
from relay import errors, replies
from relay.access import Access
from relay.config import UpstreamConfig
from relay.contracts import ContextFactory, Decider, Delivery, Journal, Observer, plain_context
from relay.footers import FooterTemplates
from relay.pipeline import PipelineSettings, prepare
from relay.session import ConnectionState, state_of
from relay.transaction import Transaction, strictest
from relay.upstream import Reply, Upstream, UpstreamError, UpstreamRefused
from rewriters.headers import header_values
from rewriters.treatment import Action, Purpose, Treatment

log = logging.getLogger("consent_relay.relay")

FORWARDED_MAIL_OPTIONS = ("BODY=8BITMIME", "SMTPUTF8")
STRIP_ALL = Treatment(Action.STRIP, strip_purposes=frozenset(Purpose))


class RelayHandler:
    """One instance serves every connection; per-connection state lives on the session."""

    def __init__(
        self,
        *,
        upstream: UpstreamConfig,
        local_hostname: str,
        decider: Decider,
        access: Access,
        pipeline: PipelineSettings,
        category_header: str = "X-Consent-Relay-Category",
        journal: Journal | None = None,
        observers: tuple[Observer, ...] = (),
        context_factory: ContextFactory = plain_context,
        footers: FooterTemplates | None = None,
    ) -> None:
        self.upstream_config = upstream
        self.local_hostname = local_hostname
        self.decider = decider
        self.access = access
        self.pipeline = pipeline
        self.category_header = category_header
        self.journal = journal
        self.observers = observers
        self.context_factory = context_factory
        self.footers = footers

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Advertise AUTH only when users are configured (aiosmtpd adds it after TLS anyway)."""
        session.host_name = hostname
        if self.access.has_users:
            return responses
        return [r for r in responses if not r.startswith("250-AUTH")]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        state = state_of(session)
        trace = state.next_trace()
        if not self.access.may_relay(session):
            log.warning("relay_denied", extra={"trace": trace, "peer": str(session.peer)})
            return replies.format_reply(replies.R550_RELAY_DENIED, trace=trace)
        if not plausible_sender(address):
            return replies.format_reply(replies.R501_BAD_SENDER, trace=trace)
        utf8 = "SMTPUTF8" in options
        forwarded = [o for o in options if o in FORWARDED_MAIL_OPTIONS]
        try:
            upstream = await self._upstream_for(state)
            reply = await upstream.mail(address, forwarded, utf8)
        except UpstreamError as exc:
            state.drop_upstream()
            return errors.reply_for(exc, trace)
        state.transaction = Transaction(trace_id=trace, sender=address, utf8=utf8)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        if not reply.ok:
            return reply.line()
        return replies.format_reply(replies.R250_SENDER_OK, trace=trace)

    async def _upstream_for(self, state: ConnectionState) -> Upstream:
        if state.upstream is not None and state.upstream.connected and not state.upstream_idle:
            await state.upstream.rset()
        state.upstream_idle = False
        if state.upstream is None or not state.upstream.connected:
            state.upstream = Upstream(self.upstream_config, self.local_hostname)
            await state.upstream.open()
        return state.upstream

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        state = state_of(session)
        tx = state.transaction
        if tx is None or state.upstream is None:
            return replies.R503_NO_TRANSACTION
        decision = await self.decider.decide(tx.sender, address)
        if decision.refusal:
            return replies.format_reply(
                replies.R553_BAD_RECIPIENT, reason=decision.refusal, trace=tx.trace_id
            )
        if not tx.admits(decision):
            log.info("recipient_deferred", extra={"trace": tx.trace_id, "rule": decision.rule_id})
            return replies.format_reply(replies.R452_TOO_MANY_RECIPIENTS, trace=tx.trace_id)
        try:
            reply = await state.upstream.rcpt(address, tx.utf8)
        except UpstreamError as exc:
            state.drop_upstream()
            state.transaction = None
            return errors.reply_for(exc, tx.trace_id)
        if not reply.ok:
            return reply.line()
        tx.add(address, decision)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.format_reply(replies.R250_RECIPIENT_OK, trace=tx.trace_id)

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        state_of(session).transaction = None
        return replies.R250_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        state = state_of(session)
        tx, upstream = state.transaction, state.upstream
        state.transaction = None
        if tx is None or upstream is None or not tx.decisions:
            if envelope.rcpt_tos:  # recipients were accepted, then upstream failed: retry
                return replies.format_reply(replies.R451_TRANSACTION_ABORTED,
                                            trace=state.connection_id)
            return replies.R503_NO_TRANSACTION
        state.in_flight += 1
        try:
            return await self._deliver(state, tx, upstream, envelope.original_content)
        except Exception as exc:
            state.drop_upstream()
            return errors.reply_for(exc, tx.trace_id)
        finally:
            state.in_flight -= 1

    async def _deliver(
        self, state: ConnectionState, tx: Transaction, upstream: Upstream, raw: bytes
    ) -> str:
        started = time.monotonic()
        delivery, data = await self._prepare(tx, raw)
        treatment = delivery.treatment
        if delivery.uncleanable and treatment.uncleanable == "reject" and (
            treatment.action is Action.STRIP
        ):
            await upstream.rset()
            reply = replies.format_reply(replies.R554_UNCLEANABLE, trace=tx.trace_id)
            return await self._finish(delivery, reply, started)
        key = delivery_key(tx, raw)
        if self.journal is not None and await self.journal.already_delivered(key):
            await upstream.rset()
            delivery.duplicate_suppressed = True
            reply = replies.format_reply(replies.R250_ALREADY_DELIVERED, trace=tx.trace_id)
            return await self._finish(delivery, reply, started)
        sent = time.monotonic()
        try:
            accepted = await upstream.data(data)
        except UpstreamError as exc:
            if not isinstance(exc, UpstreamRefused):
                state.drop_upstream()
            delivery.upstream_seconds = time.monotonic() - sent
            return await self._finish(delivery, errors.reply_for(exc, tx.trace_id), started)
        delivery.upstream_seconds = time.monotonic() - sent
        state.upstream_idle = True  # transaction complete: the next MAIL needs no RSET
        delivery.upstream_reply = accepted.line()
        if self.journal is not None:
            # first, and alone: on SQLite the audit commit would compete for the write lock
            # and widen the window in which a crash can still cause a duplicate
            await self._remember(key, tx.trace_id)
        return await self._finish(delivery, _delivered_reply(accepted, tx.trace_id), started)

    async def _prepare(self, tx: Transaction, raw: bytes) -> tuple[Delivery, bytes]:
        """Settle the treatment (category header may tighten it) and rewrite the body once."""
        fields = header_values(raw, self.category_header, "Message-ID")
        decisions = await self._recheck_category(tx, fields[self.category_header.lower()])
        treatment = strictest([d.treatment for d in decisions])
        context = self.context_factory(tx.recipients[0], decisions[0], tx.trace_id)
        if treatment.footer_template and self.footers is not None:
            text = self.footers.text(treatment.footer_template)
            context = dataclasses.replace(context, footer_text=text or context.footer_text)
        began = time.monotonic()
        prepared = await prepare(raw, treatment, context, tx.trace_id, self.pipeline)
        elapsed = time.monotonic() - began
        delivery = Delivery(
            trace_id=tx.trace_id, sender=tx.sender, recipients=list(tx.recipients),
            decisions=decisions, treatment=treatment, findings=prepared.result.findings,
            message_id=next(iter(fields["message-id"]), None), changed=prepared.changed,
            uncleanable=prepared.result.uncleanable, rewrite_seconds=elapsed,
        )
        return delivery, prepared.data

    async def _recheck_category(self, tx: Transaction, values: list[str]) -> list[Decision]:
        """A category header may tighten the pinned treatment; it never loosens it (fail closed)."""
        if not values:
            return tx.decisions
        category = values[0].strip().lower()
        fresh = [await self.decider.decide(tx.sender, r, category) for r in tx.recipients]
        pinned = tx.decisions[0].treatment
        chosen = strictest([pinned, *[d.treatment for d in fresh]])
        if chosen is pinned:
            return tx.decisions
        if chosen.needs_own_transaction and len(tx.recipients) > 1:
            # one body cannot carry several people's personal links: strip for all instead
            log.info("category_tightened_to_strip", extra={"trace": tx.trace_id})
            return [dataclasses.replace(d, treatment=STRIP_ALL) for d in fresh]
        return fresh

    async def _remember(self, key: str, trace: str) -> None:
        assert self.journal is not None
        try:
            await self.journal.remember(key)
        except Exception:
            log.exception("journal_write_failed", extra={"trace": trace})

    async def _finish(self, delivery: Delivery, reply: str, started: float) -> str:
        delivery.reply = reply
        for observer in self.observers:
            try:
                await observer.delivered(delivery)
            except Exception:
                log.exception("observer_failed", extra={"trace": delivery.trace_id})
        return self._log_outcome(delivery, reply, started)

    def _log_outcome(self, delivery: Delivery, reply: str, started: float) -> str:
        log.info(
            "message_relayed" if reply.startswith("2") else "message_not_relayed",
            extra={
                "trace": delivery.trace_id,
                "treatment": delivery.treatment.action.value,
                "recipients": len(delivery.recipients),
                "findings": len(delivery.findings),
                "changed": delivery.changed,
                "reply": reply[:3],
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return reply

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        state = state_of(session)
        if state.upstream is not None:
            await state.upstream.quit()
            state.upstream = None
        return "221 2.0.0 Bye"


def plausible_sender(address: str) -> bool:
    """Null sender, or local@domain without spaces or control characters."""
    if address == "<>":
        return True
    local, at, domain = address.rpartition("@")
    bad = any(ch.isspace() or ord(ch) < 32 for ch in address)
    return bool(at and local and domain and not bad and not domain.startswith("."))


def _delivered_reply(reply: Reply, trace: str) -> str:
    text = " ".join(reply.message.split())[:200] or "OK"
    return replies.format_reply(replies.R250_DELIVERED, upstream=text, trace=trace)


def delivery_key(tx: Transaction, raw: bytes) -> str:
    """Identity of 'this message to these recipients' for duplicate suppression on retry."""
    digest = hashlib.sha256()
    digest.update(tx.sender.encode("utf-8", "surrogateescape") + b"\0")
    for recipient in sorted(tx.recipients):
        digest.update(recipient.lower().encode("utf-8", "surrogateescape") + b"\0")
    digest.update(raw)
    return digest.hexdigest()

