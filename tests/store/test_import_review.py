"""CSV imports that once slipped through or lost their line number."""

from __future__ import annotations

from pathlib import Path

from store.transfer import read_events


def problems_of(path: Path, content: bytes) -> list[str]:
    path.write_bytes(content)
    _, problems = read_events(path, "acme")
    assert problems, "expected the file to be refused"
    return problems


def test_row_with_more_fields_than_the_header_is_refused_with_its_line(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    problems = problems_of(csv, b"recipient,purpose,state,evidence,language\n"
                                b"carol@example.org,open_tracking,granted,paper form, page 2,fr\n")
    assert problems == [f"{csv}:2: 6 fields, the header has 5 (quote values that contain commas)"]


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    problems = problems_of(csv, b"recipient,purpose,state,state\na@example.org,open,granted,x\n")
    assert problems == [f"{csv}:1: header: column 'state' appears twice"]


def test_undecodable_header_names_the_file_and_line(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    problems = problems_of(csv, b"\xff\xfe,recipient\n")
    assert problems[0].startswith(f"{csv}:1: header: not valid CSV/UTF-8")


def test_out_of_range_date_is_a_line_problem(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    problems = problems_of(csv, b"recipient,purpose,state,occurred_at\n"
                                b"a@example.org,open_tracking,granted,9999-12-31T23:59:59-05:00\n")
    assert problems == [f"{csv}:2: date value out of range"]
