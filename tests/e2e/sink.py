"""The capture sink: where Postfix (or the relay) finally delivers; records every message.

A real SMTP server (aiosmtpd's threaded Controller, fine in a test process) on an ephemeral
loopback port. Each delivery keeps its envelope and exact bytes; ``save_dir`` also writes them
out as ``NNNN.eml`` plus ``NNNN.envelope`` for looking at a failed run. It can be stopped and
started again on the same port to play an unreachable upstream.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from rewriters.headers import get_values


@dataclass(frozen=True)
class Delivery:
    """One SMTP transaction the sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message_id(self) -> str:
        values = get_values(self.data, "Message-ID")
        return values[0] if values else ""

    def header(self, name: str) -> list[str]:
        return get_values(self.data, name)


class _Recorder:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.sink.record(Delivery(envelope.mail_from or "", tuple(envelope.rcpt_tos), data))
        return "250 2.0.0 captured"


class Sink:
    """Capture server on 127.0.0.1:``port``; thread-safe list of deliveries."""

    def __init__(self, port: int, save_dir: Path | None = None) -> None:
        self.port = port
        self.save_dir = save_dir
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port,
                                ready_timeout=10)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def record(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)
            number = len(self._deliveries)
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            (self.save_dir / f"{number:04d}.eml").write_bytes(delivery.data)
            (self.save_dir / f"{number:04d}.envelope").write_text(
                f"MAIL FROM:<{delivery.mail_from}>\n"
                + "".join(f"RCPT TO:<{r}>\n" for r in delivery.rcpt_tos)
            )

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def for_recipient(self, address: str) -> list[Delivery]:
        return [d for d in self.deliveries if address in d.rcpt_tos]

    def recipient_count(self) -> int:
        return sum(len(d.rcpt_tos) for d in self.deliveries)

    def wait_for_recipients(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` recipient deliveries arrived (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.recipient_count() >= count:
                return True
            time.sleep(0.1)
        return self.recipient_count() >= count

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
