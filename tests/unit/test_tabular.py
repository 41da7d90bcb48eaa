"""Reading .csv and .xlsx tables: encodings, line ends, header matching, cell conversion, errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.documents.tables import TableError, TableRow, cell_text, finite_number, read_table

COLS = ["member_id", "name", "role"]


def write(path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [
        ("utf-8", "\n"),
        ("utf-8-sig", "\n"),
        ("utf-8", "\r\n"),
        ("utf-8-sig", "\r\n"),
    ],
    ids=["plain", "bom", "crlf", "bom-crlf"],
)
def test_csv_variants_read_the_same(tmp_path: Path, encoding: str, newline: str) -> None:
    path = write(
        tmp_path / "t.csv",
        "member_id,name,role\nM001,罗宏伟,leader\nM002, 黄志强 ,trainee\n",
        encoding=encoding,
        newline=newline,
    )
    rows = read_table(path, COLS)
    assert rows == [
        TableRow(2, {"member_id": "M001", "name": "罗宏伟", "role": "leader"}),
        TableRow(3, {"member_id": "M002", "name": "黄志强", "role": "trainee"}),
    ]


def test_bom_file_starts_with_bom_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "member_id,name,role\nA,B,C\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_table(path, COLS)[0].values["member_id"] == "A"


def test_header_is_case_insensitive_and_ignores_spaces_and_order(tmp_path: Path) -> None:
    path = write(tmp_path / "t.CSV", " Role ,NAME, Member_ID\ntrainee,张三,M1\n")
    assert read_table(path, COLS) == [
        TableRow(2, {"member_id": "M1", "name": "张三", "role": "trainee"})
    ]


def test_blank_lines_skipped_line_numbers_kept(tmp_path: Path) -> None:
    text = "\nmember_id,name,role\n\nA,a,trainee\n , ,\n,,\nB,b,leader\n\n"
    rows = read_table(write(tmp_path / "t.csv", text), COLS)
    assert [(r.line, r.values["member_id"]) for r in rows] == [(4, "A"), (7, "B")]


def test_quoted_multiline_cell_reports_its_first_line(tmp_path: Path) -> None:
    text = 'member_id,name,role\nA,"two\nlines",trainee\nB,b,hr\n'
    rows = read_table(write(tmp_path / "t.csv", text), COLS)
    assert [(r.line, r.values["name"]) for r in rows] == [(2, "two\nlines"), (4, "b")]


def test_short_rows_and_optional_columns_fill_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "member_id,name,role,school\nA,a\n")
    rows = read_table(path, COLS, optional=["school", "stage"])
    assert rows[0].values == {
        "member_id": "A", "name": "a", "role": "", "school": "", "stage": ""
    }


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("member_id,name", ["role"]),
        ("id,name,rolle", ["member_id", "role"]),
        ("name", ["member_id", "role"]),
    ],
)
def test_missing_required_columns_are_named(
    tmp_path: Path, header: str, missing: list[str]
) -> None:
    path = write(tmp_path / "t.csv", header + "\nx\n")
    with pytest.raises(TableError) as err:
        read_table(path, COLS, lang="en")
    text = err.value.problems[0]
    assert "missing columns" in text
    assert ", ".join(missing) in text


def test_missing_optional_column_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "member_id,name,role\nA,a,hr\n")
    assert read_table(path, COLS, optional=["stage"])[0].values["stage"] == ""


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "member_id,name,role,NAME\nA,a,hr,b\n")
    with pytest.raises(TableError, match="name"):
        read_table(path, COLS, lang="en")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_csv_is_read(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "t.csv", "member_id,name,role\nA,罗宏伟,leader\n", encoding=encoding)
    assert read_table(path, COLS) == [
        TableRow(2, {"member_id": "A", "name": "罗宏伟", "role": "leader"})
    ]


def test_neither_utf8_nor_gbk_is_refused_with_hint(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"member_id,name,role\nA,\xff\xfe,leader\n")
    with pytest.raises(TableError) as err:
        read_table(path, COLS, lang="en")
    assert "line 2 is neither UTF-8 nor GBK" in err.value.problems[0]
    with pytest.raises(TableError) as err:
        read_table(path, COLS, lang="zh")
    assert "UTF-8" in err.value.problems[0] and "第 2 行" in err.value.problems[0]


@pytest.mark.parametrize("name", ["t.xls", "t.txt", "t", "t.ods"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "member_id,name,role\n")
    with pytest.raises(TableError, match="unsupported"):
        read_table(path, COLS, lang="en")


@pytest.mark.parametrize("name", ["nope.csv", "nope.xlsx"])
def test_missing_file_is_unreadable(tmp_path: Path, name: str) -> None:
    with pytest.raises(TableError, match="cannot read"):
        read_table(tmp_path / name, COLS, lang="en")


def test_corrupt_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"member_id,name,role\nthis is not a zip\n")
    with pytest.raises(TableError, match="cannot read"):
        read_table(path, COLS, lang="en")


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TableError, match="empty"):
        read_table(path, COLS, lang="en")


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    assert read_table(write(tmp_path / "t.csv", "member_id,name,role\n"), COLS) == []


def test_nul_byte_is_a_table_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"member_id,name,role\nA,\x00,hr\n")
    try:
        rows = read_table(path, COLS, lang="en")
    except TableError as exc:
        assert "line" in exc.problems[0]
    else:  # newer csv modules accept NUL; then it is just a value
        assert rows[0].values["member_id"] == "A"


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "名单"
    ws.append(["Member_ID ", "name", "role", "when", "day", "count", "ratio", "t"])
    ws.append(
        ["M001", " 罗宏伟 ", "leader", dt.datetime(2026, 3, 2, 14, 30, 59),
         dt.date(2026, 3, 2), 3.0, 3.5, dt.time(8, 5)]
    )
    ws.append([])
    ws.append([None, None, None])
    ws.append([1001, "李四", "trainee", None, None, 7, None, None])
    other = wb.create_sheet("其他")
    other.append(["member_id", "name", "role"])
    other.append(["X", "x", "hr"])
    path = tmp_path / "roster.xlsx"
    wb.save(path)

    rows = read_table(path, COLS, optional=["when", "day", "count", "ratio", "t"])
    assert rows == [
        TableRow(
            2,
            {
                "member_id": "M001", "name": "罗宏伟", "role": "leader",
                "when": "2026-03-02 14:30", "day": "2026-03-02", "count": "3",
                "ratio": "3.5", "t": "08:05",
            },
        ),
        TableRow(
            5,
            {
                "member_id": "1001", "name": "李四", "role": "trainee",
                "when": "", "day": "", "count": "7", "ratio": "", "t": "",
            },
        ),
    ]


def test_xlsx_missing_column(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["member_id", "name"])
    ws.append(["A", "a"])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    with pytest.raises(TableError, match="role"):
        read_table(path, COLS, lang="en")


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (None, None, ""),
        (3.0, None, "3"),
        (-2.0, None, "-2"),
        (0.25, None, "0.25"),
        (42, None, "42"),
        (True, None, "TRUE"),
        (dt.datetime(2026, 1, 5, 0, 0), "yyyy-mm-dd", "2026-01-05"),
        (dt.datetime(2026, 1, 5, 0, 0), "yyyy-mm-dd h:mm", "2026-01-05 00:00"),
        (dt.datetime(2026, 1, 5, 7, 3, 9), "yyyy-mm-dd", "2026-01-05 07:03"),
        (dt.date(2026, 1, 5), None, "2026-01-05"),
        (dt.time(23, 59, 30), None, "23:59"),
        ("  x  ", None, "x"),
    ],
)
def test_cell_text(value: object, fmt: str | None, text: str) -> None:
    assert cell_text(value, fmt) == text


_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12
).map(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_cell, _cell, _cell), max_size=6), st.booleans())
def test_csv_round_trip(records: list[tuple[str, str, str]], bom: bool) -> None:
    """Whatever Python's csv writer (as Excel) writes, we read back, blank lines aside."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(COLS)
    writer.writerows(records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(buf.getvalue().encode("utf-8-sig" if bom else "utf-8"))
        rows = read_table(path, COLS)
    expected = [r for r in records if any(r)]
    assert [(r.values["member_id"], r.values["name"], r.values["role"]) for r in rows] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("85", 85.0), ("59.5", 59.5), (" 7 ", 7.0), ("-3", -3.0), ("", None), ("八十", None),
     ("inf", None), ("nan", None), ("1e400", None)],
)
def test_finite_number(text: str, expected: float | None) -> None:
    assert finite_number(text) == expected
