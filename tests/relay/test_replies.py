"""Every reply constant's name matches its code, and docs/replies.md is current."""

from __future__ import annotations

import re
from pathlib import Path

from relay import replies

DOC = Path(__file__).resolve().parents[2] / "docs" / "replies.md"


def test_each_reply_name_matches_its_code_and_enhanced_status() -> None:
    for name, text in replies.all_replies().items():
        code = name[1:4]
        assert text.startswith(code + " "), name
        enhanced = re.match(r"\d{3} (\d)\.\d{1,3}\.\d{1,3} ", text)
        assert enhanced and enhanced.group(1) == code[0], name


def test_replies_document_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == replies.markdown_table()


def test_format_reply_keeps_a_reply_on_one_line() -> None:
    line = replies.format_reply(replies.R553_BAD_RECIPIENT, reason="a\r\nb", trace="t")
    assert "\n" not in line and "\r" not in line
