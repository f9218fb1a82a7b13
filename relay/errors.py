"""The one place that turns an exception into an SMTP reply.

Exception tree::

    UpstreamError
     +- UpstreamUnavailable   451 4.4.1  (connect/greet failed; nothing sent)
     +- UpstreamLost          451 4.4.2  (dropped before acceptance)
     +- UpstreamTimeout       451 4.4.2  (after the final dot: maybe delivered, never lost)
     +- UpstreamRefused       upstream's own 4xx/5xx, verbatim
    anything else             451 4.3.0  with the trace id; the traceback goes to the log only
"""

from __future__ import annotations

import logging

from relay import replies
from relay.upstream import (
    UpstreamLost,
    UpstreamRefused,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger("consent_relay.relay")


def reply_for(exc: BaseException, trace: str) -> str:
    """Map an exception to a reply line; unknown exceptions are logged with their traceback."""
    if isinstance(exc, UpstreamRefused):
        return exc.reply.line()
    if isinstance(exc, UpstreamUnavailable):
        log.warning("upstream_unavailable", extra={"trace": trace, "error": str(exc)})
        return replies.format_reply(replies.R451_UPSTREAM_UNAVAILABLE, trace=trace)
    if isinstance(exc, UpstreamTimeout):
        log.warning("upstream_timeout", extra={"trace": trace, "error": str(exc)})
        return replies.format_reply(replies.R451_UPSTREAM_TIMEOUT, trace=trace)
    if isinstance(exc, UpstreamLost):
        log.warning("upstream_lost", extra={"trace": trace, "error": str(exc)})
        return replies.format_reply(replies.R451_UPSTREAM_LOST, trace=trace)
    log.error("internal_error", exc_info=exc, extra={"trace": trace})
    return replies.format_reply(replies.R451_INTERNAL, trace=trace)
