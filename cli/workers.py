"""``[relay] workers = N``: N relay processes sharing the SMTP port with SO_REUSEPORT.

The supervisor migrates the store once, starts the workers (``serve --worker I``), forwards
SIGTERM/SIGINT (drain and stop) and SIGHUP (reload policy) to them, and exits with the worst
worker's status. Worker 0 also runs what must exist once per host: the web listener (pages,
admin API, ``/metrics``, which adds up every worker's counters through Prometheus's
multiprocess mode), the capture server, the audit purge and the policy
reload recorder. Each worker has its own consent cache (staleness bounded by ``cache_ttl``, as
between instances) and checks the delivery journal in the database on a memory miss, so a
client's retry that lands on another worker is still recognised.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from audit.metrics import MULTIPROC_ENV
from cli.config import Config
from store.db import Database


def _migrate(config: Config) -> None:
    async def upgrade() -> None:
        db = Database(config.store.url)
        try:
            await db.upgrade("heads")
        finally:
            await db.dispose()

    asyncio.run(upgrade())


def supervise(config_path: Path, config: Config) -> int:
    _migrate(config)
    with tempfile.TemporaryDirectory(prefix="consent-relay-metrics-") as metrics_dir:
        # every worker's counters go to files here; worker 0's /metrics adds them all up
        env = {**os.environ, MULTIPROC_ENV: metrics_dir}
        workers = [
            subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--config",
                              str(config_path), "--worker", str(index)], env=env)
            for index in range(config.relay.workers)
        ]
        return _watch(workers)


def _watch(workers: list[subprocess.Popen[bytes]]) -> int:
    """Forward signals to the workers until all have exited; the worst status wins."""
    stopping = [False]

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping[0] = True
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM if signum == signal.SIGINT else signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while any(w.poll() is None for w in workers):
        if any(w.poll() not in (None, 0) for w in workers):
            forward(signal.SIGTERM, None)  # one worker failed: stop the rest cleanly
        time.sleep(0.2)
    return max(_status(w.returncode, stopping[0]) for w in workers)


def _status(code: int | None, stopping: bool) -> int:
    """A worker still starting when we forwarded SIGTERM dies of it: that is a clean stop."""
    if code is None or (stopping and code == -signal.SIGTERM):
        return 0
    return 128 - code if code < 0 else code
