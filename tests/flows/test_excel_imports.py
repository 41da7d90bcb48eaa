"""Imports of files as Excel writes them, through the CLI: GBK CSV, Excel-style dates, date
cells and serials; a merged header refused leaving the database as it was; 154 bad dates
listed as 20 and "and 134 more of the same"."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.cli import main
from bot.core.i18n import t
from bot.documents.imports import LISTED_PER_REASON
from storage.db import parse_ts
from tests.helpers import SMALL_ROSTER, said, write_config_file

TZ = ZoneInfo("Asia/Shanghai")
HEADER = "activity_id,type,title,group,start,end,location,lat,lon,host_member_id"
ROSTER_COLUMNS = ["member_id", "name", "role", "group", "school", "stage"]


def config(tmp_path: Path, language: str = "en") -> Path:
    return write_config_file(tmp_path / "studybot.toml", tmp_path / "db.sqlite3",
                             program={"language": language})


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def import_roster(tmp_path: Path, cfg: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(SMALL_ROSTER, encoding="utf-8")
    assert main(["roster", "import", "-c", str(cfg), str(path)]) == 0


def test_gbk_roster_is_imported(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    path = tmp_path / "名单.csv"
    path.write_bytes(SMALL_ROSTER.replace("\n", "\r\n").encode("gbk"))
    assert main(["roster", "import", "-c", str(cfg), str(path)]) == 0
    assert ("L1", "罗宏伟", "北山小学", "小学") in query(
        tmp_path, "SELECT member_id, name, school, stage FROM members"
    )


def test_gbk_schedule_with_dates_as_excel_writes_them(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    import_roster(tmp_path, cfg)
    lines = [
        HEADER,
        "G001,小组学习,读书交流,第一组,2030/3/2 15:30,2030/3/2 17:30,会议室,,,T1",
        "G002,group_study,案例剖析,第二组,2030-3-2 9:05,2030-3-2 11:00,,,,T3",
        "C001,集中培训,开班,,2030年3月4日 15:30,2030年3月4日 17:00,礼堂,,,",
    ]
    path = tmp_path / "日程.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    assert main(["schedule", "import", "-c", str(cfg), str(path)]) == 0
    got = {a: (parse_ts(str(s)), parse_ts(str(e)), title) for a, s, e, title in query(
        tmp_path, "SELECT activity_id, start_at, end_at, title FROM activities")}
    assert got == {
        "G001": (dt.datetime(2030, 3, 2, 15, 30, tzinfo=TZ),
                 dt.datetime(2030, 3, 2, 17, 30, tzinfo=TZ), "读书交流"),
        "G002": (dt.datetime(2030, 3, 2, 9, 5, tzinfo=TZ),
                 dt.datetime(2030, 3, 2, 11, 0, tzinfo=TZ), "案例剖析"),
        "C001": (dt.datetime(2030, 3, 4, 15, 30, tzinfo=TZ),
                 dt.datetime(2030, 3, 4, 17, 0, tzinfo=TZ), "开班"),
    }


def test_xlsx_schedule_with_date_cells_and_serials(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    import_roster(tmp_path, cfg)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER.split(","))
    ws.append(["G001", "group_study", "读书交流", "第一组", dt.datetime(2030, 3, 2, 15, 30),
               dt.datetime(2030, 3, 2, 17, 30), "会议室", None, None, "T1"])
    # 47544.645833 is 2030-03-02 15:30 as a number cell (Excel's "General" format).
    ws.append(["G002", "group_study", "案例剖析", "第二组", 47544.6458333333, 47544.75,
               None, None, None, "T3"])
    for cell in ("E2", "F2"):
        ws[cell].number_format = "yyyy/m/d h:mm"
    path = tmp_path / "schedule.xlsx"
    wb.save(path)
    assert main(["schedule", "import", "-c", str(cfg), str(path)]) == 0
    got = {a: parse_ts(str(s)) for a, s in query(
        tmp_path, "SELECT activity_id, start_at FROM activities")}
    at = dt.datetime(2030, 3, 2, 15, 30, tzinfo=TZ)
    assert got == {"G001": at, "G002": at}


def test_merged_header_xlsx_is_refused_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    import_roster(tmp_path, cfg)
    before = query(tmp_path, "SELECT * FROM members ORDER BY id")
    audit = query(tmp_path, "SELECT COUNT(*) FROM audit_log")
    capsys.readouterr()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    # School and stage under one merged heading: read on, stage would blank for everyone.
    ws.append(["member_id", "name", "role", "group", "学校及学段", None])
    for line in SMALL_ROSTER.splitlines()[1:]:
        ws.append([*line.split(",")[:4], "新学校", "高中"])
    ws.merge_cells("E1:F1")
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    assert main(["roster", "import", "-c", str(cfg), str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert said(captured.err, "table.merged_header", "en", file="roster.xlsx", cells="E1:F1")
    assert query(tmp_path, "SELECT * FROM members ORDER BY id") == before
    assert query(tmp_path, "SELECT COUNT(*) FROM audit_log") == audit


@pytest.mark.parametrize(
    ("header", "key", "params"),
    [
        (",".join(ROSTER_COLUMNS[:4]) + ",,stage", "table.empty_header", {"cell": "E1"}),
        (",".join(ROSTER_COLUMNS) + ",备注", "table.unknown_column", {"cell": "G1"}),
        (",".join(ROSTER_COLUMNS) + ",Stage", "table.duplicate_column", {"column": "stage"}),
    ],
    ids=["empty", "unknown", "repeated"],
)
def test_bad_roster_header_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, key: str,
    params: dict[str, str],
) -> None:
    cfg = config(tmp_path, "zh")
    path = tmp_path / "roster.csv"
    body = "\n".join(line + ",x" for line in SMALL_ROSTER.splitlines()[1:])
    path.write_text(header + "\n" + body + "\n", encoding="utf-8")
    assert main(["roster", "import", "-c", str(cfg), str(path)]) == 2
    assert said(capsys.readouterr().err, key, "zh", file="roster.csv", **params)
    # Refused before the database was even opened.
    assert not (tmp_path / "db.sqlite3").exists()


def test_many_bad_dates_are_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path)
    import_roster(tmp_path, cfg)
    capsys.readouterr()
    # A US-style date is not one we read: 154 lines of the same problem.
    lines = [HEADER] + [
        f"C{n:03d},collective,培训{n},,3/2/2030 15:30,2030-03-02 17:30,礼堂,,," for n in range(154)
    ]
    path = tmp_path / "schedule.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["schedule", "import", "-c", str(cfg), str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert said(err[0], "imports.rejected", "en", file="schedule.csv", count=154)
    listed = err[1:]
    assert len(listed) == LISTED_PER_REASON + 1
    assert [line.split(":")[0] for line in listed[:-1]] == [f"line {n}" for n in range(2, 22)]
    assert listed[-1] == t("en", "imports.more_of_the_same", count=134)
    assert query(tmp_path, "SELECT COUNT(*) FROM activities") == [(0,)]
