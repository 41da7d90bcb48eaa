"""A header cell that is empty, merged, unknown or repeated refuses the table, naming the cell;
and the import runner's listing: grouped by reason, capped per reason."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from bot.core.i18n import t
from bot.documents.imports import LISTED_PER_REASON, LineProblems, listing
from bot.documents.tables import TableError, column_letter, read_table
from tests.helpers import said

COLS = ["member_id", "name", "role"]
OPTIONAL = ["stage"]


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, lang: str = "en") -> list[str]:
    with pytest.raises(TableError) as err:
        read_table(path, COLS, optional=OPTIONAL, lang=lang)
    return err.value.problems


def test_empty_header_cell_between_columns_is_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "member_id,,name,role\nA,x,a,hr\n")
    [problem] = problems_of(path)
    assert said(problem, "table.empty_header", "en", file="t.csv", cell="B1")


def test_values_under_no_header_past_the_last_column_are_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "\nmember_id,name,role\nA,a,hr\nB,b,hr,oops\n")
    [problem] = problems_of(path)
    assert said(problem, "table.unnamed_values", "en", file="t.csv", cell="D2", line=4)


def test_trailing_empty_header_cells_without_values_are_fine(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "member_id,name,role,,\nA,a,hr,,\n")
    assert read_table(path, COLS)[0].values == {"member_id": "A", "name": "a", "role": "hr"}


def test_unknown_header_cell_is_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "member_id,name,role,备注\nA,a,hr,x\n")
    [problem] = problems_of(path, "zh")
    assert said(problem, "table.unknown_column", "zh", file="t.csv", cell="D1", column="备注",
                expected="member_id, name, role, stage")


def test_repeated_header_cell_is_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "member_id,name,role,Stage,stage\nA,a,hr,x,y\n")
    [problem] = problems_of(path)
    assert said(problem, "table.duplicate_column", "en", file="t.csv", column="stage")


def test_every_header_problem_is_listed_at_once(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "member_id,,rolle,name,name\nA,,hr,a,b\n")
    problems = problems_of(path)
    assert said(problems[0], "table.missing_columns", "en", columns="role")
    assert [p.split(":")[1].strip().split(" ")[:3] for p in problems[1:]] == [
        ["header", "cell", "B1"], ["header", "cell", "C1"], ["column", "name", "appears"],
    ]


def xlsx(tmp_path: Path, rows: list[list[object]], merge: list[str]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    for cells in merge:
        ws.merge_cells(cells)
    path = tmp_path / "t.xlsx"
    wb.save(path)
    return path


def test_merged_header_cells_are_named(tmp_path: Path) -> None:
    rows: list[list[object]] = [["member_id", "name", "role", "stage", None],
                                ["A", "a", "hr", "x", "y"]]
    path = xlsx(tmp_path, rows, ["D1:E1"])
    [problem] = problems_of(path)
    assert said(problem, "table.merged_header", "en", file="t.xlsx", cells="D1:E1")


def test_merged_data_cells_are_named(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        [["member_id", "name", "role", "stage"], ["A", "a", "hr", "小学"], ["B", "b", "hr", None]],
        ["D2:D3"],
    )
    [problem] = problems_of(path)
    assert said(problem, "table.merged_cells", "en", file="t.xlsx", cells="D2:D3")


def test_xlsx_without_merged_cells_reads(tmp_path: Path) -> None:
    path = xlsx(tmp_path, [["member_id", "name", "role"], ["A", "a", "hr"]], [])
    assert read_table(path, COLS)[0].values["name"] == "a"


@pytest.mark.parametrize(
    ("index", "letter"), [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (51, "AZ"), (702, "AAA")]
)
def test_column_letter(index: int, letter: str) -> None:
    assert column_letter(index) == letter


def test_listing_groups_by_reason_and_caps_each() -> None:
    found = LineProblems("en", "roster.line")
    for line in range(2, 156):  # 154 bad names, and one other reason among them
        found.add(line, "roster.empty_name")
        if line == 40:
            found.add(line, "roster.unknown_role", role="boss")
    shown = listing(found.messages(), "en")
    assert LISTED_PER_REASON == 20
    assert shown[:20] == [f"line {n}: name is empty" for n in range(2, 22)]
    assert shown[20] == t("en", "imports.more_of_the_same", count=134)
    assert shown[21:] == ['line 40: unknown role "boss" (use trainee, leader or hr)']


def test_listing_keeps_a_short_list_and_plain_problems() -> None:
    found = LineProblems("zh", "roster.line")
    found.add(3, "roster.empty_name")
    found.add(2, "roster.empty_name")
    empty = t("zh", "roster.empty_name")
    shown = listing([*found.messages(), "名单中没有成员"], "zh")
    assert shown == [f"第 2 行：{empty}", f"第 3 行：{empty}", "名单中没有成员"]
