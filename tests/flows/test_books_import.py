"""Catalog import: every bad line named (table-driven), all or nothing, idempotent, a year's
list replaced by a later file, .xlsx, and the `studybot books import` command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.documents.tables import read_table
from bot.reading.books import COLUMNS, import_books, validate_books
from storage import books as books_repo
from storage.db import open_database
from tests.helpers import said, write_config_file

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "samples" / "books.csv"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HEADER = "book_id,title,author,list,category,year\n"
GOOD = "B01,给教师的建议,苏霍姆林斯基,required,education_monograph,2026\n"


def rows_of(tmp_path: Path, text: str, name: str = "books.csv") -> list:  # type: ignore[type-arg]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_table(path, COLUMNS)


def test_sample_catalog_is_valid(tmp_path: Path) -> None:
    entries, problems = validate_books(read_table(SAMPLE, COLUMNS))
    assert problems == []
    assert len(entries) == 12
    assert {e.book_list for e in entries} == {"required", "elective"}
    assert sum(e.category == "education_monograph" for e in entries) >= 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (",给教师的建议,苏霍姆林斯基,required,education_monograph,2026\n",
         ["第 2 行：book_id 为空"]),
        ("B01,,苏霍姆林斯基,required,education_monograph,2026\n", ["第 2 行：title 为空"]),
        ("B01,《》,苏霍姆林斯基,required,education_monograph,2026\n", ["第 2 行：title 为空"]),
        ("B01,给教师的建议,苏霍姆林斯基,must,education_monograph,2026\n",
         ["第 2 行：list 应为 required（必读）或 elective（选读），现为“must”"]),
        ("B01,给教师的建议,苏霍姆林斯基,required,monograph,2026\n",
         ["第 2 行：category 应为 education_monograph（教育专著）或 other（其他），"
          "现为“monograph”"]),
        ("B01,给教师的建议,苏霍姆林斯基,required,education_monograph,26\n",
         ["第 2 行：year 应为 2000–2100 之间的年份，现为“26”"]),
        ("B01,给教师的建议,苏霍姆林斯基,required,education_monograph,\n",
         ["第 2 行：year 应为 2000–2100 之间的年份，现为“”"]),
        (GOOD + "B01,静悄悄的革命,佐藤学,required,education_monograph,2026\n",
         ["第 3 行：2026 年度的 book_id B01 重复（第 2 行已有）"]),
        (GOOD + "B02,《给教师的 建议》,苏霍姆林斯基,elective,other,2026\n",
         ["第 3 行：2026 年度的书名《《给教师的 建议》》重复（第 2 行已有）"]),
        ("B" * 33 + ",书,作者,required,other,2026\n",
         ["第 2 行：book_id 过长（33 个字符，最多 32 个）"]),
        ("B01," + "书" * 201 + ",作者,required,other,2026\n",
         ["第 2 行：title 过长（201 个字符，最多 200 个）"]),
        # Several problems on several lines: all reported, in line order.
        ("B01,,x,nope,other,2026\nB02,书,y,required,what,1999\n",
         ["第 2 行：title 为空",
          "第 2 行：list 应为 required（必读）或 elective（选读），现为“nope”",
          "第 3 行：category 应为 education_monograph（教育专著）或 other（其他），现为“what”",
          "第 3 行：year 应为 2000–2100 之间的年份，现为“1999”"]),
        ("", ["文件中没有任何书目"]),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, body: str, expected: list[str]) -> None:
    _, problems = validate_books(rows_of(tmp_path, HEADER + body))
    assert problems == expected


@pytest.mark.parametrize(
    ("body", "book_list", "category"),
    [
        ("B01,书,作者,必读,教育专著,2026\n", "required", "education_monograph"),
        ("B01,书,作者,Elective,OTHER,2026\n", "elective", "other"),
        ("B01,书,,选读,其他,2026\n", "elective", "other"),  # an empty author is allowed
    ],
)
def test_aliases(tmp_path: Path, body: str, book_list: str, category: str) -> None:
    entries, problems = validate_books(rows_of(tmp_path, HEADER + body))
    assert problems == []
    assert (entries[0].book_list, entries[0].category) == (book_list, category)


def test_same_book_id_in_two_years_is_fine(tmp_path: Path) -> None:
    body = GOOD + GOOD.replace("2026", "2027")
    entries, problems = validate_books(rows_of(tmp_path, HEADER + body))
    assert problems == [] and len(entries) == 2


async def test_import_is_idempotent_and_replaces_a_years_list(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "db.sqlite3")
    try:
        entries, _ = validate_books(read_table(SAMPLE, COLUMNS))
        first = await import_books(db, entries, NOW)
        assert len(first.added) == 12 and not first.changed and not first.withdrawn
        again = await import_books(db, entries, NOW)
        assert (again.added, again.changed, again.withdrawn, again.unchanged) == ([], [], [], 12)
        # A later 2026 file: B12 dropped, B11 renamed, B13 new; 2027 untouched by it.
        text = SAMPLE.read_text("utf-8")
        lines = [ln for ln in text.splitlines() if not ln.startswith("B12,")]
        lines = [ln.replace("高效能人士的七个习惯", "高效能人士的七个习惯（新版）") for ln in lines]
        lines.append("B13,教育漫话,洛克,elective,education_monograph,2026")
        later, problems = validate_books(rows_of(tmp_path, "\n".join(lines) + "\n"))
        assert problems == []
        result = await import_books(db, later, NOW)
        assert [b for _, b, _ in result.added] == ["B13"]
        assert [b for _, b, _ in result.changed] == ["B11"]
        assert [b for _, b, _ in result.withdrawn] == ["B12"]
        async with db.read() as conn:
            active = await books_repo.for_year(conn, 2026)
            everything = await books_repo.for_years(conn, [2026])
        assert [b.book_id for b in active][:6] == ["B01", "B02", "B03", "B04", "B05", "B06"]
        assert "B12" not in {b.book_id for b in active}
        assert {b.book_id for b in everything} >= {"B12"}  # kept, only withdrawn
        # Listing it again brings it back.
        back = await import_books(db, entries, NOW)
        assert [b for _, b, _ in back.changed] == ["B11", "B12"]
    finally:
        await db.close()


async def test_xlsx_import(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Book_ID", "title", "author", "list", "category", "year"])
    ws.append(["B01", "给教师的建议", "苏霍姆林斯基", "required", "education_monograph", 2026])
    ws.append(["B02", "乡土中国", "费孝通", "elective", "other", 2026.0])
    path = tmp_path / "books.xlsx"
    wb.save(path)
    entries, problems = validate_books(read_table(path, COLUMNS))
    assert problems == []
    assert [(e.book_id, e.year) for e in entries] == [("B01", 2026), ("B02", 2026)]


def write_config(tmp_path: Path) -> Path:
    return write_config_file(tmp_path / "config.toml", tmp_path / "db.sqlite3")


def test_cli_imports_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main(["books", "import", "--config", str(cfg), str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "已导入书目 books.csv：2026 年度共 12 本" in out
    assert "新增 12 本" in out
    assert main(["books", "import", "--config", str(cfg), str(SAMPLE)]) == 0
    assert "新增 0 本：无" in capsys.readouterr().out


def test_cli_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main(["books", "import", "--config", str(cfg), str(SAMPLE)]) == 0
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + GOOD.replace("给教师的建议", "改了名字")
        + "B02,静悄悄的革命,佐藤学,required,education,2026\n",
        encoding="utf-8",
    )
    assert main(["books", "import", "--config", str(cfg), str(bad)]) == 2
    err = capsys.readouterr().err
    assert said(err, "imports.rejected", file="bad.csv", count=1)
    assert "第 3 行：category" in err
    import sqlite3

    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        rows = conn.execute("SELECT title FROM books WHERE active = 1 ORDER BY book_id").fetchall()
    finally:
        conn.close()
    assert len(rows) == 12 and rows[0][0] == "给教师的建议"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("books.txt", HEADER, "不支持的文件类型"),
        ("books.csv", "book_id,title,list,category,year\n", "缺少列 author"),
        ("books.csv", "", "文件是空的"),
    ],
)
def test_cli_unusable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, expected: str
) -> None:
    cfg = write_config(tmp_path)
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert main(["books", "import", "--config", str(cfg), str(path)]) == 2
    assert expected in capsys.readouterr().err
