"""The shared export writer: xlsx formatting, CSV with BOM, and the roster sheet via the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import openpyxl

from bot.cli import main
from bot.core.i18n import t
from bot.documents.exports import Sheet, write_csv_file, write_xlsx
from tests.helpers import SMALL_ROSTER, T0, load_roster, make_config, write_config_file


def test_xlsx_has_bold_frozen_filtered_header_and_real_dates(tmp_path: Path) -> None:
    sheet = Sheet("attendance", ["name", "start", "day", "count"], [
        {"name": "黄志强", "start": T0, "day": T0.date(), "count": 3},
    ])
    path = tmp_path / "x.xlsx"
    write_xlsx([sheet, Sheet("empty", ["a"])], path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["attendance", "empty"]
    ws = wb["attendance"]
    assert [c.value for c in ws[1]] == ["name", "start", "day", "count"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D2"
    assert ws["A2"].value == "黄志强"
    assert ws["B2"].value == dt.datetime(2026, 3, 2, 9, 0)
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert isinstance(ws["C2"].value, dt.datetime) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["A"].width >= 8


def test_csv_has_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write_csv_file(Sheet("s", ["a", "b"], [{"a": "中文", "b": None}]), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig") == "a,b\r\n中文,\r\n"


def test_export_roster_and_all_from_the_cli(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    asyncio.run(load_roster(cfg, SMALL_ROSTER, T0))
    config_file = write_config_file(tmp_path / "c.toml", cfg.db_path)
    out = tmp_path / "roster.csv"
    code = main(["export", "roster", "--config", str(config_file), "--format", "csv",
                 "--out", str(out), "--codes"])
    assert code == 0
    lines = out.read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("member_id,name,role,group")
    assert any(line.startswith("T1,黄志强,trainee,第一组") for line in lines)
    book = tmp_path / "all.xlsx"
    assert main(["export", "all", "--config", str(config_file), "--out", str(book)]) == 0
    assert t("zh", "export.roster.sheet") in openpyxl.load_workbook(book).sheetnames
    assert main(["export", "all", "--config", str(config_file), "--format", "csv"]) == 2


def test_reversed_date_range_is_refused_for_any_kind(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    asyncio.run(load_roster(cfg, SMALL_ROSTER, T0))
    config_file = write_config_file(tmp_path / "c.toml", cfg.db_path)
    out = tmp_path / "x.xlsx"
    for kind in ("attendance", "roster", "all"):
        code = main(["export", kind, "--config", str(config_file), "--from", "2026-03-02",
                     "--to", "2026-03-01", "--out", str(out)])
        assert code == 2
    assert not out.exists()


async def test_workbook_has_a_sheet_per_kind_with_its_headers(tmp_path: Path) -> None:
    from bot.documents.exports import ExportFilter, collect, exporters, xlsx_bytes
    from storage.db import open_database

    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, T0)
    db = await open_database(cfg.db_path)
    try:
        kinds = list(exporters())
        sheets = await collect(db, cfg, kinds, ExportFilter())
    finally:
        await db.close()
    assert {"roster", "attendance", "leave", "reading", "credits"} <= set(kinds)
    assert "reports" in kinds
    import io

    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(sheets)))
    assert wb.sheetnames == [s.name[:31] for s in sheets]
    for sheet in sheets:
        ws = wb[sheet.name[:31]]
        assert [c.value for c in ws[1]] == sheet.columns, sheet.name
        assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
