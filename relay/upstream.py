"""The one seam to the next hop: an aiosmtplib client driven one command at a time.

Never ``sendmail()``/``send_message()``: they send DATA as soon as one recipient is accepted,
and we must give the client each recipient's real upstream answer at RCPT time.
Errors are translated to :class:`UpstreamReply` (a real SMTP answer from upstream, passed
through) or :class:`UpstreamUnavailable` / :class:`UpstreamLost` / :class:`UpstreamTimeout`.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address

from relay.config import UpstreamConfig
from relay.paths import PLAIN_ADDRESS

_LINE_ENDS = re.compile(rb"\r\n|\n|\r(?!\n)")
_PLAIN_ADDRESS = re.compile(PLAIN_ADDRESS.encode())


def smtp_path(address: str, encoding: str) -> bytes:
    """``<address>`` as MAIL/RCPT send it: aiosmtplib's ``quote_address`` runs the email
    package's address parser, which for a plain ``local@domain`` gives back the address
    itself; anything else still goes through it. The null sender (bounces, delivery reports)
    is ``<>``, which that parser refuses."""
    if address in ("", "<>"):
        return b"<>"
    raw = address.encode(encoding)
    if _PLAIN_ADDRESS.fullmatch(raw):
        return b"<" + raw + b">"
    return quote_address(address).encode(encoding)


def wire_payload(message: bytes) -> bytes:
    """``message`` as DATA transmits it: CRLF line ends, leading dots doubled, final dot.

    The same bytes aiosmtplib's ``data()`` writes, made with ``bytes.count``/``replace``: its
    two regex substitutions cost a match object per line, about a tenth of the relay's CPU
    per 20 KB message, and a rewritten message already has CRLF line ends.
    """
    crlf = message.count(b"\r\n")
    if crlf != message.count(b"\n") or crlf != message.count(b"\r"):
        message = _LINE_ENDS.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n"


@dataclass(frozen=True)
class Reply:
    """An SMTP reply from upstream."""

    code: int
    message: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    def line(self) -> str:
        """One reply line for our client; multi-line upstream text is folded to one line."""
        text = " ".join(self.message.split()) or "upstream reply"
        return f"{self.code} {text}"


class UpstreamError(Exception):
    """Base of everything that can go wrong talking to upstream."""


class UpstreamUnavailable(UpstreamError):
    """Could not connect or greet; nothing was sent."""


class UpstreamLost(UpstreamError):
    """The connection dropped before upstream accepted the message."""


class UpstreamTimeout(UpstreamError):
    """No answer in time. After the final dot this means 'maybe delivered'."""


class UpstreamRefused(UpstreamError):
    """Upstream answered with a 4xx/5xx; ``reply`` is passed through to the client."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.line())
        self.reply = reply


def _tls_context(config: UpstreamConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _translate(exc: Exception, *, after_data: bool = False) -> UpstreamError:
    if isinstance(exc, aiosmtplib.SMTPResponseException) and 400 <= exc.code < 600:
        return UpstreamRefused(Reply(exc.code, exc.message))
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return UpstreamTimeout(str(exc))
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return UpstreamLost(str(exc))
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError) and not after_data:
        return UpstreamUnavailable(str(exc))
    return UpstreamLost(f"{type(exc).__name__}: {exc}")


class Upstream:
    """One upstream SMTP connection, reused for consecutive transactions of one client."""

    def __init__(self, config: UpstreamConfig, local_hostname: str) -> None:
        self._config = config
        self._client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            validate_certs=config.verify,
            tls_context=_tls_context(config) if config.tls != "none" else None,
            local_hostname=config.helo_name or local_hostname,
        )

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    async def open(self) -> None:
        try:
            await self._client.connect()
            if self._config.username and self._config.password:
                await self._client.login(self._config.username, self._config.password)
        except Exception as exc:
            self.close()
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def supports(self, extension: str) -> bool:
        return self._client.supports_extension(extension)

    async def mail(self, sender: str, options: list[str], utf8: bool) -> Reply:
        """Upstream's answer to MAIL FROM (a refusal is raised as :class:`UpstreamRefused`)."""
        try:
            path = b"FROM:" + smtp_path(sender, _enc(utf8))
            await self._greeted()
            r = await self._client.execute_command(b"MAIL", path, *(o.encode() for o in options))
        except Exception as exc:
            raise _translate(exc) from exc
        return self._accepted(Reply(r.code, r.message))

    async def rcpt(self, recipient: str, utf8: bool) -> Reply:
        """Upstream's answer for one recipient; a 4xx/5xx is returned, not raised."""
        try:
            path = b"TO:" + smtp_path(recipient, _enc(utf8))
            r = await self._client.execute_command(b"RCPT", path)
        except Exception as exc:
            raise _translate(exc) from exc
        reply = Reply(r.code, r.message)
        return reply if 400 <= reply.code < 600 else self._accepted(reply)

    def _accepted(self, reply: Reply) -> Reply:
        """A 2xx is returned; a 4xx/5xx is upstream's refusal, passed on to the client; any
        other code (1xx, 3xx, 600-999) is a conversation gone wrong: close it, so the client
        retries (451)."""
        if reply.ok:
            return reply
        if 400 <= reply.code < 600:
            raise UpstreamRefused(reply)
        self.close()
        raise UpstreamLost(f"unexpected reply {reply.line()}")

    async def _greeted(self) -> None:
        """EHLO once per connection, HELO if EHLO is refused (as aiosmtplib's own commands)."""
        if not self._client.is_ehlo_or_helo_needed:
            return
        try:
            await self._client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not self._client.is_connected:
                raise
            await self._client.helo()

    async def data(self, message: bytes) -> Reply:
        """Send the body; raise unless upstream accepted it with a 2xx.

        DATA goes through aiosmtplib's command path; the payload is written and its reply
        read on the same protocol, with nothing awaited in between (see :func:`wire_payload`).
        """
        payload = wire_payload(message)
        try:
            start = await self._client.execute_command(b"DATA")
            if start.code != 354:
                raise aiosmtplib.SMTPDataError(start.code, start.message)
            r = await self._final_reply(payload)
        except Exception as exc:
            raise _translate(exc, after_data=True) from exc
        return self._accepted(Reply(r.code, r.message))

    async def _final_reply(self, payload: bytes) -> aiosmtplib.SMTPResponse:
        protocol = self._client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        try:
            protocol.write(payload)
            return await protocol.read_response(timeout=self._config.final_reply_timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.close()  # a half-read reply must never pair with a later command
            raise

    async def rset(self) -> None:
        try:
            await self._client.rset()
        except Exception:
            self.close()

    async def quit(self) -> None:
        try:
            await self._client.quit()
        except Exception:
            self.close()

    def close(self) -> None:
        """Drop the connection; an unfinished upstream transaction is thereby abandoned."""
        self._client.close()


def _enc(utf8: bool) -> str:
    return "utf-8" if utf8 else "ascii"
