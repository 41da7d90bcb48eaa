"""Exports in the programme's language (issue 17): `export all` read back with openpyxl in zh
and in en — sheet names, headers, coded values, 是/否, whole numbers, the 汇总 summary row of a
member with known figures — `--codes` for scripts, the format from `--out`'s extension and
`--out -` to standard output."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.cli import main
from bot.core.i18n import t
from bot.documents import exports
from storage import members as members_repo
from storage.db import open_database, ts
from tests.flows.test_attendance_export import prepare
from tests.helpers import make_config, write_config_file

KINDS = ("summary", "roster", "attendance", "leave", "reading", "reports", "credits")
AFTER = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    """第一组 met on 2026-03-02 (T1 hosted it and came, T2 corrected to present, L1 absent),
    第二组 on the 3rd (L2 and T3 absent); nobody has read or reported yet."""
    asyncio.run(prepare(make_config(tmp_path)))
    return tmp_path


def config_file(tmp: Path, lang: str) -> Path:
    return write_config_file(tmp / f"{lang}.toml", tmp / "studybot.sqlite3",
                             program={"language": lang})


def rows_of(ws: Any) -> list[dict[str, Any]]:
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def col(lang: str, kind: str, column: str) -> str:
    return t(lang, f"export.{kind}.col.{column}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_export_all_in_the_programme_language(prepared: Path, lang: str) -> None:
    book = prepared / "all.xlsx"
    assert main(["export", "all", "--config", str(config_file(prepared, lang)),
                 "--out", str(book)]) == 0
    wb = openpyxl.load_workbook(book)
    # Every sheet, the summary first, each with its header even when empty (no leave yet).
    assert wb.sheetnames == [t(lang, f"export.{k}.sheet") for k in KINDS]
    leave = wb[t(lang, "export.leave.sheet")]
    assert leave.max_row == 1
    assert [c.value for c in leave[1]][:2] == [col(lang, "leave", "request_id"),
                                               col(lang, "leave", "member_id")]
    attendance = rows_of(wb[t(lang, "export.attendance.sheet")])
    t1 = next(r for r in attendance if r[col(lang, "attendance", "member_id")] == "T1")
    assert t1[col(lang, "attendance", "status")] == t(lang, "export.value.attendance.present")
    roster = rows_of(wb[t(lang, "export.roster.sheet")])
    h1 = next(r for r in roster if r[col(lang, "roster", "member_id")] == "H1")
    assert h1[col(lang, "roster", "active")] == t(lang, "export.yes")
    assert h1[col(lang, "roster", "role")] == t(lang, "export.value.role.hr")
    credits = rows_of(wb[t(lang, "export.credits.sheet")])
    hosting = next(r for r in credits if r[col(lang, "credits", "rule")]
                   == t(lang, "export.value.rule.host"))
    points = hosting[col(lang, "credits", "points")]
    assert points == 2 and isinstance(points, int)  # not 2.0
    assert hosting[col(lang, "credits", "source")] == t(lang, "export.value.source.host", ref=1)
    if lang == "zh":
        assert wb.sheetnames[0] == "汇总"
        assert t1[col(lang, "attendance", "status")] == "出勤"
        assert h1[col(lang, "roster", "active")] == "是"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_row_of_a_member_with_known_figures(prepared: Path, lang: str) -> None:
    async def workbook() -> bytes:
        cfg = make_config(prepared, program={"language": lang})
        db = await open_database(cfg.db_path)
        try:
            # Registered members are judged by the line (one who never registered is "not
            # registered", not below it).
            async with db.tx() as conn:
                for i, member_id in enumerate(("L1", "L2", "T1", "T2", "T3")):
                    member = await members_repo.by_member_id(conn, member_id)
                    assert member is not None
                    await members_repo.link_telegram(conn, member.pk, 7000 + i, lang,
                                                     ts(AFTER - dt.timedelta(days=19)))
            sheets = await exports.collect(db, cfg, None, exports.ExportFilter(at=AFTER),
                                           lang=lang)
        finally:
            await db.close()
        return exports.xlsx_bytes(sheets)

    wb = openpyxl.load_workbook(io.BytesIO(asyncio.run(workbook())))
    summary = rows_of(wb[t(lang, "export.summary.sheet")])
    assert [r[col(lang, "summary", "member_id")] for r in summary] == [
        "L1", "L2", "T1", "T2", "T3"]  # trainees and leaders; HR earns nothing

    def of(member_id: str) -> dict[str, Any]:
        row = next(r for r in summary if r[col(lang, "summary", "member_id")] == member_id)
        return {c: row[col(lang, "summary", c)] for c in (
            "name", "group", "school", "present", "absent", "attendance_rate", "leave",
            "books", "books_target", "targets_met", "hosted", "reports_on_time",
            "reports_missing", "credits", "rank", "below_line", "open_exits")}

    yes, no = t(lang, "export.yes"), t(lang, "export.no")
    # T1 came (2 points) and hosted G1 (2 points) but has not filed its report.
    assert of("T1") == {
        "name": "黄志强", "group": "第一组", "school": "育才小学", "present": 1, "absent": 0,
        "attendance_rate": 100, "leave": 0, "books": 0, "books_target": 6, "targets_met": no,
        "hosted": 1, "reports_on_time": 0, "reports_missing": 1, "credits": 4, "rank": 1,
        "below_line": no, "open_exits": 0,
    }
    l1 = of("L1")
    assert (l1["present"], l1["absent"], l1["attendance_rate"], l1["credits"]) == (0, 1, 0, -2)
    assert l1["below_line"] == yes
    assert isinstance(of("T1")["credits"], int)


def test_codes_keep_the_machine_readable_sheets(prepared: Path) -> None:
    book = prepared / "codes.xlsx"
    assert main(["export", "all", "--config", str(config_file(prepared, "zh")),
                 "--out", str(book), "--codes"]) == 0
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == list(KINDS)
    roster = rows_of(wb["roster"])
    h1 = next(r for r in roster if r["member_id"] == "H1")
    assert h1["role"] == "hr" and h1["active"] is True
    attendance = rows_of(wb["attendance"])
    assert {r["status"] for r in attendance} == {"present", "absent"}
    out = prepared / "codes.csv"
    assert main(["export", "credits", "--config", str(config_file(prepared, "zh")),
                 "--out", str(out), "--codes"]) == 0
    lines = list(csv.reader(out.read_text("utf-8-sig").splitlines()))
    assert lines[0][:3] == ["date", "year", "member_id"]
    assert any(r[6] == "host" and r[7].startswith("host:") and r[5] == "2" for r in lines[1:])


def test_the_format_follows_the_extension(
    prepared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config_file(prepared, "zh"))
    out = prepared / "roster.csv"
    assert main(["export", "roster", "--config", cfg, "--out", str(out)]) == 0
    text = out.read_text("utf-8-sig")  # a CSV, not an xlsx under a .csv name
    assert text.splitlines()[0].startswith("编号,姓名,角色,小组")
    assert "黄志强,学员,第一组" in text
    err = capsys.readouterr().err
    assert err.strip() == t("zh", "export.written_csv", file=out, rows=6)  # no "1 个工作表"
    bad = prepared / "bad.csv"
    assert main(["export", "roster", "--config", cfg, "--format", "xlsx",
                 "--out", str(bad)]) == 2
    assert not bad.exists()
    assert capsys.readouterr().err.strip() == t("zh", "export.bad_out", file=bad,
                                                format="xlsx")
    odd = prepared / "roster.txt"
    assert main(["export", "roster", "--config", cfg, "--out", str(odd)]) == 2
    assert capsys.readouterr().err.strip() == t("zh", "export.unknown_suffix", file=odd,
                                                format="")
    assert main(["export", "all", "--config", cfg, "--out", str(prepared / "all.csv")]) == 2


def test_out_dash_writes_csv_to_standard_output(
    prepared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(config_file(prepared, "en"))
    assert main(["export", "attendance", "--config", cfg, "--out", "-"]) == 0
    lines = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert lines[0][:2] == [col("en", "attendance", "member_id"), col("en", "attendance", "name")]
    assert len(lines) == 6 and {r[6] for r in lines[1:]} == {"present", "absent"}
    assert main(["export", "all", "--config", cfg, "--out", "-", "--format", "xlsx"]) == 2
