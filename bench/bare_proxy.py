"""A bare aiosmtpd -> aiosmtplib pass-through proxy: the baseline the relay is measured against.

It does what any Python SMTP proxy must do and nothing more: receive a message with stock
aiosmtpd, open an upstream session, send MAIL / RCPT / DATA step by step with aiosmtplib and
pass upstream's final reply back. No policy, no parsing, no store. The end-to-end tests also use
it as a stand-in filter when the relay cannot be started.

    python bench/bare_proxy.py --listen 127.0.0.1:10025 --upstream 127.0.0.1:10026
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session


class PassThrough:
    """aiosmtpd handler: one upstream transaction per inbound message, upstream's verdict back."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=self.timeout,
                                 start_tls=False, use_tls=False)
        try:
            await client.connect()
            await client.ehlo()
            await client.mail(envelope.mail_from or "")
            accepted = 0
            last_refusal = "451 4.3.0 no recipient accepted upstream"
            for rcpt in envelope.rcpt_tos:
                try:
                    await client.rcpt(rcpt)
                    accepted += 1
                except aiosmtplib.SMTPRecipientRefused as exc:
                    last_refusal = f"{exc.code} {exc.message}"
            if not accepted:
                return last_refusal
            reply = await client.data(data)
            return f"{reply.code} {reply.message}"
        except aiosmtplib.SMTPResponseException as exc:
            return f"{exc.code} {exc.message}"
        except (aiosmtplib.SMTPException, OSError) as exc:
            return f"451 4.4.1 upstream unavailable ({type(exc).__name__})"
        finally:
            with contextlib.suppress(Exception):
                if client.is_connected:
                    await client.quit()


def split(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


async def serve(listen: str, upstream: str, timeout: float) -> None:
    host, port = split(listen)
    up_host, up_port = split(upstream)
    handler = PassThrough(up_host, up_port, timeout)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bare-proxy.localhost", timeout=timeout + 60),
        host=host, port=port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"bare_proxy listening on {listen} -> {upstream}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:10025")
    parser.add_argument("--upstream", default="127.0.0.1:10026")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.upstream, args.timeout))


if __name__ == "__main__":
    main()
