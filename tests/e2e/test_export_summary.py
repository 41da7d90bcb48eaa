"""The line the CLI prints after an export: rows and sheets for an xlsx, rows alone for a CSV
(a CSV has no sheets)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.documents.exports import cli_export
from tests.helpers import Harness, said


async def test_a_csv_export_is_summed_up_without_sheets(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "roster.csv"
    args = argparse.Namespace(format="csv", date_from=None, date_to=None, out=out,
                              export_command="roster")
    assert await cli_export(args, h.config) == 0
    err = capsys.readouterr().err
    rows = len(out.read_text("utf-8-sig").splitlines()) - 1
    assert said(err, "export.written_csv", file=out, rows=rows)
    assert "工作表" not in err

    xlsx = tmp_path / "roster.xlsx"
    args.format, args.out = "xlsx", xlsx
    assert await cli_export(args, h.config) == 0
    assert said(capsys.readouterr().err, "export.written", file=xlsx, rows=rows, sheets=1)
