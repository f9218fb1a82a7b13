"""The plain SMTP path: ``local@domain`` in ASCII dot-atoms, the common case both directions
can handle without the email package's address parser (inbound in ``relay.server``,
outbound in ``relay.upstream``)."""

from __future__ import annotations

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9-]+"
PLAIN_ADDRESS = rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*"
