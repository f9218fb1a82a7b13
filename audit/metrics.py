"""Prometheus metrics for the mail admin: what flows, what is stripped, what is slow or failing.

Each :class:`MetricsObserver` owns a ``CollectorRegistry`` (never the process-global one), so
tests and several relays in one process do not share counters. Labels are bounded: treatment
and outcome are small enums, vendor names come from the tracker knowledge base (``unknown``
for heuristics), kinds from :class:`rewriters.treatment.Finding`. No address is ever a label.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from audit.recorder import finding_counts, outcome_of
from relay.contracts import Delivery
from rewriters.treatment import Action
from store.cache import ConsentCache
from store.ledger import Ledger
from store.state import ConsentState

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by the worker supervisor

# Up to RFC 5321's 10 minutes for the reply to the final dot.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
REWRITE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
LOOKUP_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2)


class MetricsObserver:
    """``relay.contracts.Observer`` plus the hooks the rest of the process calls."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "consent_relay_messages", "DATA outcomes by treatment and outcome.",
            ["treatment", "outcome"], registry=r,
        )
        self.recipients = Counter(
            "consent_relay_recipients", "Recipients of DATA outcomes by treatment and outcome.",
            ["treatment", "outcome"], registry=r,
        )
        self.trackers = Counter(
            "consent_relay_trackers", "Trackers found, by vendor, kind and action taken.",
            ["vendor", "kind", "action"], registry=r,
        )
        self.upstream_seconds = Histogram(
            "consent_relay_upstream_seconds", "Time from sending DATA to upstream's reply.",
            buckets=UPSTREAM_BUCKETS, registry=r,
        )
        self.rewrite_seconds = Histogram(
            "consent_relay_rewrite_seconds", "Time to rewrite one message (all DATA steps).",
            buckets=REWRITE_BUCKETS, registry=r,
        )
        self.consent_lookup_seconds = Histogram(
            "consent_relay_consent_lookup_seconds", "Consent lookups at RCPT time (cached or not).",
            buckets=LOOKUP_BUCKETS, registry=r,
        )
        self.store_errors = Counter(
            "consent_relay_store_errors", "Consent store failures answered as 'no consent'.",
            registry=r,
        )
        self.policy_reloads = Counter(
            "consent_relay_policy_reloads", "Policy reloads by result (ok, failed).",
            ["result"], registry=r,
        )
        self.tracking_hits = Counter(
            "consent_relay_tracking_hits", "Hits on the relay's own open/click endpoints.",
            ["kind"], registry=r,
        )

    async def delivered(self, delivery: Delivery) -> None:
        treatment, outcome = delivery.treatment.action.value, outcome_of(delivery)
        self.messages.labels(treatment, outcome).inc()
        self.recipients.labels(treatment, outcome).inc(len(delivery.recipients))
        report_mode = delivery.treatment.action is Action.REPORT
        for vendor, kind, action, count in finding_counts(delivery.findings, report_mode):
            self.trackers.labels(vendor, kind, action).inc(count)
        self.rewrite_seconds.observe(delivery.rewrite_seconds)
        if delivery.upstream_seconds > 0:
            self.upstream_seconds.observe(delivery.upstream_seconds)

    def observe_consent_lookup(self, seconds: float) -> None:
        self.consent_lookup_seconds.observe(seconds)

    def store_error(self, exc: BaseException | None = None) -> None:
        """Fits ``ConsentCache.on_store_error`` directly (the exception is not a label)."""
        self.store_errors.inc()

    def policy_reload(self, ok: bool) -> None:
        self.policy_reloads.labels("ok" if ok else "failed").inc()

    def tracking_hit(self, kind: str) -> None:
        """``open`` or ``click`` (anything else is counted as ``other``)."""
        self.tracking_hits.labels(kind if kind in ("open", "click") else "other").inc()


class LiveCounts(Collector):
    """Exports a live ``Mapping[str, int]`` kept by another package, read at scrape time.

    For ``web.tracking.TrackingServices.stats`` (``open_tracking_granted``,
    ``click_tracking_blocked``, ``token_expired``, ...): no hook in the web code needed.
    """

    def __init__(self, name: str, documentation: str, label: str, counts: Mapping[str, int]):
        self.name, self.documentation, self.label = name, documentation, label
        self.counts = counts

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=[self.label])

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for key, value in sorted(self.counts.items()):
            family.add_metric([key], value)
        yield family


def endpoint_stats(counts: Mapping[str, int]) -> LiveCounts:
    """``consent_relay_tracking_endpoint_total{event}`` from the tracking endpoint's counters."""
    return LiveCounts(
        "consent_relay_tracking_endpoint", "Open/click endpoint outcomes (granted, blocked, "
        "bad token), as counted by the endpoint.", "event", counts,
    )


def export_endpoint_stats(metrics: MetricsObserver, counts: Mapping[str, int]) -> None:
    metrics.registry.register(endpoint_stats(counts))


def scrape_registry(metrics: MetricsObserver, counts: Mapping[str, int]) -> CollectorRegistry:
    """What ``/metrics`` serves: this process's registry or, when the worker supervisor set
    ``PROMETHEUS_MULTIPROC_DIR``, every worker's counters and histograms added up (the
    tracking endpoint's counts live in worker 0 alone, which serves the web pages)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return metrics.registry
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    registry.register(endpoint_stats(counts))
    return registry


class TimedConsentCache(ConsentCache):
    """A :class:`ConsentCache` that reports lookup latency and store errors to the metrics.

    Drop-in for the composition root (``PolicyService`` takes it as its cache); the store
    package stays free of Prometheus.
    """

    def __init__(self, ledger: Ledger, ttl_seconds: float, metrics: MetricsObserver,
                 **options: Any) -> None:
        super().__init__(ledger, ttl_seconds, **options)
        self.metrics = metrics
        self.on_store_error = metrics.store_error

    async def lookup_many(self, recipients: Sequence[str]) -> dict[str, ConsentState]:
        began = time.perf_counter()
        try:
            return await super().lookup_many(recipients)
        finally:
            self.metrics.observe_consent_lookup(time.perf_counter() - began)
