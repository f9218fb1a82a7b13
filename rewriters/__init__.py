"""Tracker knowledge and pure MIME/HTML/CSS/text/header rewriting.

Entry point: :func:`rewriters.engine.apply`. Nothing in this package does I/O or imports the
relay, the policy or the store.
"""

from rewriters.engine import apply
from rewriters.treatment import (
    PERMIT,
    STRIP,
    Action,
    Confidence,
    Finding,
    Purpose,
    RewriteContext,
    RewriteResult,
    Treatment,
)

__all__ = [
    "PERMIT",
    "STRIP",
    "Action",
    "Confidence",
    "Finding",
    "Purpose",
    "RewriteContext",
    "RewriteResult",
    "Treatment",
    "apply",
]
