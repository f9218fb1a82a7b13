"""Shared builders for rewriter tests: real-looking messages around a given HTML or text body."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rewriters import Action, RewriteContext, RewriteResult, Treatment, apply

DATA = Path(__file__).resolve().parent.parent / "data" / "rewriters"
RECIPIENT = "alice@example.org"

HtmlBuilder = Callable[..., bytes]
Rewrite = Callable[..., RewriteResult]


def build_html(body: str, charset: str = "utf-8", cte: str = "8bit",
               extra_headers: str = "") -> bytes:
    head = (
        "From: Shop <news@shop.example>\r\n"
        f"To: {RECIPIENT}\r\n"
        "Subject: Test\r\n"
        "Message-ID: <t-1@shop.example>\r\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body.encode(charset)


def rewrite(raw: bytes, action: Action = Action.STRIP, **kwargs: object) -> RewriteResult:
    treatment_fields = {k: v for k, v in kwargs.items() if k in Treatment.__dataclass_fields__}
    context_fields = {k: v for k, v in kwargs.items() if k in RewriteContext.__dataclass_fields__}
    context_fields.setdefault("recipient", RECIPIENT)
    return apply(raw, Treatment(action, **treatment_fields),  # type: ignore[arg-type]
                 RewriteContext(**context_fields))  # type: ignore[arg-type]


@pytest.fixture
def html_message() -> HtmlBuilder:
    return build_html


@pytest.fixture
def run() -> Rewrite:
    return rewrite


@pytest.fixture
def data_dir() -> Path:
    return DATA
