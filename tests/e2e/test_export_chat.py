"""/export in chat: HR gets every member, a leader only the own group, a trainee nothing."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from bot.core.i18n import t
from tests.helpers import running_bot, said


async def test_export_by_role(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        leader = await h.register("L2")
        trainee = await h.register("T1")
        doc = await hr.ask("/export")
        assert doc.file_name and doc.file_name.endswith(".xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(doc.file_bytes or b""))
        ws = wb[t("zh", "export.roster.sheet")]
        ids = {row[0] for row in ws.iter_rows(min_row=2, values_only=True)}
        assert {"L1", "T1", "L2", "T3", "H1"} <= ids
        assert ws["A1"].font.bold and ws.freeze_panes == "A2"
        doc = await leader.ask("/export")
        wb = openpyxl.load_workbook(io.BytesIO(doc.file_bytes or b""))
        roster = wb[t("zh", "export.roster.sheet")]
        ids = {row[0] for row in roster.iter_rows(min_row=2, values_only=True)}
        assert ids == {"L2", "T3"}
        # The same localized workbook as `studybot export all`: the summary first.
        assert wb.sheetnames[0] == t("zh", "export.summary.sheet")
        summary = {row[0] for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True)}
        assert summary == {"L2", "T3"}
        assert wb.worksheets[0]["A1"].value == t("zh", "export.summary.col.member_id")
        assert said((await trainee.ask("/export")).text, "export_chat.not_allowed")
