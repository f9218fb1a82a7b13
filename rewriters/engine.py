"""Entry point of the rewriting engine (replaced by the full engine in the rewriter issue)."""

from __future__ import annotations

from rewriters.treatment import RewriteContext, RewriteResult, Treatment


def apply(raw: bytes, treatment: Treatment, context: RewriteContext) -> RewriteResult:
    """Return the message as the recipient should receive it, plus findings."""
    return RewriteResult(data=raw)
