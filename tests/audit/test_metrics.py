"""Prometheus metrics: counted per observer registry, served at /metrics."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import httpx
from audit_samples import HASH_KEY, sample
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from audit.metrics import MetricsObserver, TimedConsentCache, export_endpoint_stats
from store.db import Database
from store.ledger import Ledger
from web.metrics import metrics_routes


def value(metrics: MetricsObserver, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def test_messages_trackers_and_latencies_are_counted() -> None:
    metrics = MetricsObserver()
    for item in sample():
        await metrics.delivered(item)
    assert value(metrics, "consent_relay_messages_total", treatment="strip",
                 outcome="delivered") == 6
    assert value(metrics, "consent_relay_messages_total", treatment="strip",
                 outcome="rejected") == 1
    assert value(metrics, "consent_relay_recipients_total", treatment="strip",
                 outcome="delivered") == 7
    # metrics count every outcome (the duplicate's rewrite found one more Mailtrack pixel)
    assert value(metrics, "consent_relay_trackers_total", vendor="Mailtrack", kind="open_pixel",
                 action="removed") == 4
    assert value(metrics, "consent_relay_trackers_total", vendor="Mailchimp",
                 kind="click_wrapper", action="unwrapped") == 3
    assert value(metrics, "consent_relay_rewrite_seconds_count") == 10
    assert value(metrics, "consent_relay_upstream_seconds_count") == 9  # not the rejected one
    assert value(metrics, "consent_relay_upstream_seconds_bucket", le="0.05") == 9


def test_hooks_for_lookups_store_errors_reloads_and_tracking_hits() -> None:
    metrics = MetricsObserver()
    metrics.observe_consent_lookup(0.002)
    metrics.store_error(TimeoutError())
    metrics.store_error()
    metrics.policy_reload(True)
    metrics.policy_reload(False)
    metrics.policy_reload(False)
    metrics.tracking_hit("open")
    metrics.tracking_hit("click")
    metrics.tracking_hit("click")
    metrics.tracking_hit("weird")
    assert value(metrics, "consent_relay_consent_lookup_seconds_count") == 1
    assert value(metrics, "consent_relay_store_errors_total") == 2
    assert value(metrics, "consent_relay_policy_reloads_total", result="failed") == 2
    assert value(metrics, "consent_relay_tracking_hits_total", kind="click") == 2
    assert value(metrics, "consent_relay_tracking_hits_total", kind="other") == 1


def test_each_observer_has_its_own_registry() -> None:
    first, second = MetricsObserver(), MetricsObserver(CollectorRegistry())
    first.store_error()
    assert value(first, "consent_relay_store_errors_total") == 1
    assert value(second, "consent_relay_store_errors_total") == 0


async def test_metrics_route_serves_the_text_format() -> None:
    metrics = MetricsObserver()
    for item in sample()[:3]:
        await metrics.delivered(item)
    app = Starlette(routes=metrics_routes(metrics.registry))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        response = await client.get("/metrics")
        assert (await client.post("/metrics")).status_code == 405
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'consent_relay_messages_total{outcome="delivered",treatment="strip"} 3.0' in (
        response.text)
    assert "example.fr" not in response.text and "acme.example" not in response.text


async def test_timed_cache_reports_lookup_latency_and_store_errors(tmp_path: Path) -> None:
    metrics = MetricsObserver()
    healthy = Database(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    await healthy.upgrade("heads")
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables: queries fail
    try:
        cache = TimedConsentCache(Ledger(healthy, HASH_KEY), 30.0, metrics)
        assert not (await cache.lookup("ann@example.fr")).granted("open_tracking")
        await cache.lookup("ann@example.fr")  # cached, still timed
        failing = TimedConsentCache(Ledger(broken, HASH_KEY), 30.0, metrics, timeout=2.0)
        assert not (await failing.lookup("bert@example.de")).reachable
    finally:
        await healthy.dispose()
        await broken.dispose()
    assert value(metrics, "consent_relay_consent_lookup_seconds_count") == 3
    assert value(metrics, "consent_relay_store_errors_total") == 1


async def test_metrics_route_can_require_a_bearer_token() -> None:
    metrics = MetricsObserver()
    digest = hashlib.sha256(b"scraper-secret").hexdigest()
    app = Starlette(routes=metrics_routes(metrics.registry, token_digests=[digest]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer guess"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer scraper-secret"}
        response = await client.get("/metrics", headers=right)
    assert response.status_code == 200 and "consent_relay_store_errors_total" in response.text


def test_tracking_endpoint_counters_are_exported_live() -> None:
    metrics = MetricsObserver()
    stats: Counter[str] = Counter()
    export_endpoint_stats(metrics, stats)
    stats["open_tracking_granted"] += 2
    stats["token_expired"] += 1
    assert value(metrics, "consent_relay_tracking_endpoint_total",
                 event="open_tracking_granted") == 2
    stats["open_tracking_granted"] += 1
    assert value(metrics, "consent_relay_tracking_endpoint_total",
                 event="open_tracking_granted") == 3
    assert value(metrics, "consent_relay_tracking_endpoint_total", event="token_expired") == 1
