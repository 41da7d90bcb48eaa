"""`studybot export attendance`: the exact columns, local times, date filters, CSV and xlsx."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.activities import roll_call
from bot.activities.export import COLUMNS
from bot.activities.importer import run_import
from bot.cli import main
from bot.core.config import Config
from storage import activities as activities_repo
from storage import members as members_repo
from storage.db import open_database, ts
from tests.helpers import SMALL_ROSTER, load_roster, make_config, schedule_rows, write_config_file

TZ = ZoneInfo("Asia/Shanghai")
LINES = (
    "G1,group_study,读书交流,第一组,2026-03-02 10:00,2026-03-02 12:00,会议室,,,T1",
    "G2,group_study,案例剖析,第二组,2026-03-03 10:00,2026-03-03 12:00,会议室,,,T3",
)


def at(day: int, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, hh, mm, tzinfo=TZ)


async def prepare(cfg: Config) -> None:
    """第一组 meets on the 2nd (T1 present, T2 late then corrected), 第二组 on the 3rd."""
    await load_roster(cfg, SMALL_ROSTER, at(1, 9, 0))
    rows = schedule_rows(*LINES)
    db = await open_database(cfg.db_path)
    try:
        result, problems = await run_import(db, cfg, rows, at(1, 9, 0), "zh")
        assert not problems and result is not None
        async with db.read() as conn:
            pk = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
            g1 = (await conn.execute_fetchall(
                "SELECT id FROM activities WHERE activity_id = 'G1'"))[0][0]
        assert (await roll_call.check_in(db, cfg, g1, pk["T1"], at(2, 9, 50), "code")).outcome \
            == "ok"
        await roll_call.check_in(db, cfg, g1, pk["T2"], at(2, 10, 20), "code")
        await roll_call.check_out(db, cfg, g1, pk["T1"], at(2, 11, 50), confirmed_early=False)
        for day in (2, 3):
            async with db.read() as conn:
                due = await activities_repo.due_to_close(conn, ts(at(day, 12, 1)))
            for activity in due:
                await roll_call.close_activity(db, cfg, activity, at(day, 12, 1))
        await roll_call.correct(db, cfg, pk["L1"], g1, pk["T2"], "present", "交通管制, 已核实",
                                at(2, 13, 0))
    finally:
        await db.close()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    cfg = make_config(tmp_path)
    asyncio.run(prepare(cfg))
    return write_config_file(tmp_path / "config.toml", cfg.db_path)


def test_csv_columns_and_values(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "attendance.csv"
    assert main(["export", "attendance", "--config", str(config_file), "--format", "csv",
                 "--out", str(out), "--codes"]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert tuple(rows[0]) == COLUMNS == (
        "member_id", "name", "group", "activity_id", "title", "start", "status", "checkin_at",
        "checkout_at", "note",
    )
    body = {(r[3], r[0]): r for r in rows[1:]}
    assert len(body) == 5  # G1: L1 T1 T2, G2: L2 T3
    assert body[("G1", "T1")] == [
        "T1", "黄志强", "第一组", "G1", "读书交流", "2026-03-02 10:00", "present",
        "2026-03-02 09:50", "2026-03-02 11:50", "",
    ]
    assert body[("G1", "T2")][6:] == ["present", "2026-03-02 10:20", "", "交通管制, 已核实"]
    assert body[("G1", "L1")][6:] == ["absent", "", "", ""]
    assert body[("G2", "T3")][2:7] == ["第二组", "G2", "案例剖析", "2026-03-03 10:00", "absent"]
    assert [r[3] for r in rows[1:]] == ["G1", "G1", "G1", "G2", "G2"]  # by start, then member


def test_date_filter(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "day.csv"
    assert main(["export", "attendance", "--config", str(config_file), "--format", "csv",
                 "--from", "2026-03-03", "--to", "2026-03-03", "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_text("utf-8-sig").splitlines()))
    assert {r[3] for r in rows[1:]} == {"G2"}
    assert main(["export", "attendance", "--config", str(config_file), "--format", "csv",
                 "--from", "2026-03-02", "--to", "2026-03-02", "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_text("utf-8-sig").splitlines()))
    assert {r[3] for r in rows[1:]} == {"G1"}


def test_group_filter_and_export_all(config_file: Path, tmp_path: Path) -> None:
    from bot.documents import exports

    async def sheets() -> list[exports.Sheet]:
        db = await open_database(tmp_path / "studybot.sqlite3")
        try:
            async with db.read() as conn:
                g2 = (await conn.execute_fetchall(
                    "SELECT id FROM groups WHERE name = '第二组'"))[0][0]
            cfg = make_config(tmp_path)
            one = await exports.collect(db, cfg, ["attendance"], exports.ExportFilter(group_id=g2))
            every = await exports.collect(db, cfg, None, exports.ExportFilter())
            return [*one, *every]
        finally:
            await db.close()

    group_sheet, *all_sheets = asyncio.run(sheets())
    assert {r["member_id"] for r in group_sheet.rows} == {"L2", "T3"}
    assert "attendance" in [s.name for s in all_sheets]


def test_xlsx(config_file: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "attendance.xlsx"
    assert main(["export", "attendance", "--config", str(config_file), "--format", "xlsx",
                 "--out", str(out), "--codes"]) == 0
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert tuple(header) == COLUMNS
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:J6"
    t1 = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "T1")
    assert t1[5] == dt.datetime(2026, 3, 2, 10, 0)
    assert t1[7] == dt.datetime(2026, 3, 2, 9, 50)
    assert t1[6] == "present"


def test_csv_to_stdout(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "attendance", "--config", str(config_file), "--format", "csv",
                 "--codes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 6
