"""``consent-relay serve``: the composition root. SMTP, policy, store and web on one loop.

Signals: SIGTERM/SIGINT stop accepting and let in-flight transactions finish within
``[relay] shutdown_grace``; SIGHUP reloads the policy (an invalid file keeps the old one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from cli.config import Config
from cli.configcmd import load_or_report
from cli.logsetup import configure
from policy.service import PolicyService
from policy.tomlfile import FileError
from relay.access import Access, load_users
from relay.capture import start_capture
from relay.handler import RelayHandler
from relay.pipeline import PipelineSettings
from relay.server import RelayServer
from store.cache import ConsentCache
from store.db import Database
from store.journal import DeliveryJournal
from store.ledger import Ledger

log = logging.getLogger("consent_relay.serve")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the SMTP relay (and its web pages)")
    parser.add_argument("--config", type=Path, default=Path("config.example.toml"))
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 2
    configure(config.audit.json_logs)
    try:
        return asyncio.run(run(config))
    except FileError as exc:
        print(exc)
        return 2


class Runtime:
    """Everything the relay process owns, built once from the configuration."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.store.url)
        self.ledger = Ledger(self.db, config.store.hash_key, config.store.controller)
        self.cache = ConsentCache(self.ledger, config.store.cache_ttl)
        self.policy = PolicyService(config.policy.file, self.cache)
        self.journal = DeliveryJournal(self.db) if config.relay.dedup else None
        access = Access(config.relay.allowed_clients, load_users(config.relay.auth_users_file))
        self.handler = RelayHandler(
            upstream=config.upstream,
            local_hostname=config.relay.hostname,
            decider=self.policy,
            access=access,
            pipeline=PipelineSettings(config.upstream, config.dkim, config.relay.trace_header),
            category_header=config.policy.category_header,
            journal=self.journal,
        )
        self.smtp = RelayServer(config.relay, self.handler)
        self.background: list[asyncio.Task[Any]] = []
        self.servers: list[asyncio.Server] = []


async def start(runtime: Runtime) -> None:
    config = runtime.config
    await runtime.db.upgrade("heads")
    if runtime.journal is not None:
        await runtime.journal.load()
    if config.upstream.capture_dir is not None:
        capture = await start_capture(
            config.upstream.capture_dir, config.upstream.host, config.upstream.port
        )
        runtime.servers.append(capture)
        log.info("capture_listening", extra={"dir": str(config.upstream.capture_dir)})
    await runtime.smtp.start()
    if config.policy.watch_interval > 0:
        runtime.background.append(
            asyncio.create_task(runtime.policy.watch(config.policy.watch_interval))
        )


async def stop(runtime: Runtime) -> None:
    await runtime.smtp.stop(runtime.config.relay.shutdown_grace)
    for task in runtime.background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for server in runtime.servers:
        server.close()
        await server.wait_closed()
    await runtime.db.dispose()


async def run(config: Config) -> int:
    runtime = Runtime(config)
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
