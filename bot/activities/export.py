"""The attendance sheet of an export (`studybot export attendance`, `export all`, in-chat
exports): every roll-call record, through the shared writer in bot/documents/exports.py (CSV with
BOM, or .xlsx with real dates).

Columns `member_id,name,group,activity_id,title,start,status,checkin_at,checkout_at,note`;
times are local to the programme's time zone; `--from/--to` select activities by the local
date they start on (both inclusive); a group filter selects the member's group. Cancelled
activities are left out; an activity whose roll call has not closed yet has records only for
those who checked in (or were corrected) so far.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.config import Config
from bot.documents.exports import ExportFilter, Sheet, local_time
from storage import attendance as attendance_repo
from storage.db import Database

COLUMNS: tuple[str, ...] = (
    "member_id", "name", "group", "activity_id", "title", "start", "status", "checkin_at",
    "checkout_at", "note",
)


async def attendance_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    tz = cfg.tz
    lo, hi = flt.stored_range(tz)
    async with db.read() as conn:
        raw = await attendance_repo.export_rows(conn, lo, hi, group_id=flt.group_id)

    def local(text: str | None) -> dt.datetime | None:
        return local_time(text, tz)

    rows: list[dict[str, Any]] = [
        {
            "member_id": r["member_id"], "name": r["name"], "group": r["group_name"] or "",
            "activity_id": r["activity_id"], "title": r["title"], "start": local(r["start_at"]),
            "status": r["status"], "checkin_at": local(r["checkin_at"]),
            "checkout_at": local(r["checkout_at"]), "note": r["note"] or "",
        }
        for r in raw
    ]
    return Sheet("attendance", list(COLUMNS), rows, "attendance", {"status": "attendance"})

