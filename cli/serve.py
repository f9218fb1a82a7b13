"""``consent-relay serve``: the composition root. SMTP, policy, store, audit and web on one loop.

The order a message moves through is fixed in ``relay/``; this module only builds the objects
once and wires them: store -> consent cache -> policy -> relay handler (with the audit and
metrics observers and the link/route signers) -> SMTP server, and the web app beside it.

Signals: SIGTERM/SIGINT stop accepting and let in-flight transactions finish within
``[relay] shutdown_grace``; SIGHUP reloads the policy (an invalid file keeps the old one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from audit.metrics import (
    MetricsObserver,
    TimedConsentCache,
    export_endpoint_stats,
    scrape_registry,
)
from audit.purge import purge_daily
from audit.recorder import AuditRecorder
from audit.reloads import ReloadTracker
from cli.config import Config
from cli.configcmd import load_or_report
from cli.logsetup import configure
from cli.workers import supervise
from policy.service import PolicyService
from policy.tomlfile import FileError
from relay.access import Access, load_users
from relay.capture import start_capture
from relay.contracts import Observer
from relay.footers import FooterTemplates
from relay.handler import RelayHandler
from relay.pipeline import PipelineSettings
from relay.server import RelayServer
from store.audit import AuditStore
from store.db import Database
from store.journal import MAX_REMEMBERED, DeliveryJournal
from store.keylog import KeyLog
from store.ledger import Ledger
from web.app import create_app
from web.links import LinkSigner, context_factory
from web.metrics import metrics_routes
from web.routing import RouteSigner, with_routing
from web.server import WebHandle, start_web
from web.services import WebServices
from web.tracking import TrackingServices, tracking_routes

log = logging.getLogger("consent_relay.serve")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the SMTP relay and its web pages")
    parser.add_argument("--config", type=Path, default=Path("config.example.toml"))
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 2
    configure(config.audit.json_logs)
    if args.worker is None and config.relay.workers > 1:
        return supervise(args.config, config)
    try:
        return asyncio.run(run(config, args.worker))
    except FileError as exc:
        print(f"policy error:\n{exc}")
        return 2
    except OSError as exc:
        print(f"error: cannot start: {exc}")
        return 1


class Runtime:
    """Everything the relay process owns, built once from the configuration."""

    def __init__(self, config: Config, worker: int | None = None) -> None:
        self.config = config
        self.worker = worker
        self.primary = worker in (None, 0)
        self.metrics = MetricsObserver()
        self.db = Database(config.store.url)
        self.ledger = Ledger(self.db, config.store.hash_key, config.store.controller,
                             keep_ip=config.web.store_ip)
        self.cache = TimedConsentCache(self.ledger, config.store.cache_ttl, self.metrics,
                                       timeout=config.store.lookup_timeout)
        self.policy = PolicyService(config.policy.file, self.cache)
        self.journal = self._journal() if config.relay.dedup else None
        self.recorder = AuditRecorder(self.db, config.store.hash_key, config.audit)
        self.reloads = ReloadTracker(self.policy, self.recorder, self.metrics)
        self.signer = LinkSigner(config.web.signing_keys, config.web.base_url,
                                 config.web.link_max_age_days, controller=self.ledger.controller)
        self.routes = RouteSigner(config.web.signing_keys, config.web.base_url)
        self.tracking = TrackingServices.create(self.routes, self.cache, self.db, config.tracking)
        export_endpoint_stats(self.metrics, self.tracking.stats)
        self.handler = self._handler()
        self.smtp = RelayServer(config.relay, self.handler)
        self.web: WebHandle | None = None
        self.background: list[asyncio.Task[Any]] = []
        self.servers: list[asyncio.Server] = []

    def _journal(self) -> DeliveryJournal:
        """The delivery journal, with its local key log beside a SQLite store or where
        ``[relay] dedup_file`` says (one file per worker: each appends without locking)."""
        path = self.config.relay.dedup_file
        if path is None and self.db.sqlite_file is not None:
            path = self.db.sqlite_file.with_name(self.db.sqlite_file.name + ".delivered")
        shared = self.worker is not None
        if path is None:
            return DeliveryJournal(self.db, shared=shared)
        if self.worker is None:
            return DeliveryJournal(self.db, keylog=KeyLog(path, MAX_REMEMBERED))
        logs = [path.with_name(f"{path.name}.w{n}") for n in range(self.config.relay.workers)]
        others = tuple(log for n, log in enumerate(logs) if n != self.worker)
        keylog = KeyLog(logs[self.worker], MAX_REMEMBERED, also_read=others)
        return DeliveryJournal(self.db, shared=shared, keylog=keylog)

    def _handler(self) -> RelayHandler:
        config = self.config
        observers: tuple[Observer, ...] = (self.metrics,)
        if config.audit.enabled:
            observers = (self.recorder, self.metrics)
        return RelayHandler(
            upstream=config.upstream,
            local_hostname=config.relay.hostname,
            decider=self.policy,
            access=Access(config.relay.allowed_clients, load_users(config.relay.auth_users_file)),
            pipeline=PipelineSettings(config.upstream, config.dkim, config.relay.trace_header),
            category_header=config.policy.category_header,
            journal=self.journal,
            observers=observers,
            context_factory=with_routing(context_factory(self.signer), self.routes),
            footers=FooterTemplates(config.policy.file.parent),
        )

    def web_services(self) -> WebServices:
        registry = scrape_registry(self.metrics, self.tracking.stats)
        extra = [*metrics_routes(registry, token_digests=self.config.web.admin_tokens),
                 *tracking_routes(self.tracking)]
        return WebServices(self.config.web, self.db, self.ledger, self.cache, self.policy,
                           self.signer, extra_routes=extra, audit=AuditStore(self.db))

    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        self.background.append(asyncio.create_task(job))


async def start(runtime: Runtime) -> None:
    config = runtime.config
    if runtime.worker is None:
        await runtime.db.upgrade("heads")  # with workers, the supervisor migrated already
    if runtime.journal is not None:
        await runtime.journal.load()
    if runtime.primary and config.upstream.capture_dir is not None:
        capture = await start_capture(
            config.upstream.capture_dir, config.upstream.host, config.upstream.port
        )
        runtime.servers.append(capture)
        log.info("capture_listening", extra={"dir": str(config.upstream.capture_dir)})
    await runtime.tracking.start()
    if runtime.primary and config.web.enabled:
        runtime.web = await start_web(create_app(runtime.web_services()), config.web.listen)
        log.info("web_listening", extra={"listen": config.web.listen})
    await runtime.smtp.start(reuse_port=runtime.worker is not None)
    if config.policy.watch_interval > 0:
        runtime.spawn(runtime.policy.watch(config.policy.watch_interval))
    if not runtime.primary:
        return
    runtime.spawn(runtime.reloads.watch(1.0))
    if config.audit.enabled:
        runtime.spawn(purge_daily(runtime.db, config.audit, hash_key=config.store.hash_key,
                                  tracking_days=config.tracking.retention_days))


async def stop(runtime: Runtime) -> None:
    await runtime.smtp.stop(runtime.config.relay.shutdown_grace)
    if runtime.web is not None:
        await runtime.web.stop(grace=5.0)
    for task in runtime.background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for server in runtime.servers:
        server.close()
        await server.wait_closed()
    await runtime.tracking.close()
    if runtime.journal is not None:
        await runtime.journal.close()
    await runtime.db.dispose()


async def run(config: Config, worker: int | None = None) -> int:
    runtime = Runtime(config, worker)
    await start(runtime)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, runtime.policy.reload)
    log.info("relay_started", extra={"listen": config.relay.listen})
    await stopping.wait()
    log.info("relay_stopping", extra={"grace": config.relay.shutdown_grace})
    await stop(runtime)
    return 0
