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
from bot.documents.exports import ExportFilter, Sheet
from storage import attendance as attendance_repo
from storage.db import Database, parse_ts, ts

COLUMNS: tuple[str, ...] = (
    "member_id", "name", "group", "activity_id", "title", "start", "status", "checkin_at",
    "checkout_at", "note",
)


def day_bounds(flt: ExportFilter, tz: dt.tzinfo) -> tuple[str | None, str | None]:
    """The stored-time range [from 00:00, the day after `to` 00:00) of the local dates."""
    lo = ts(dt.datetime.combine(flt.date_from, dt.time(), tz)) if flt.date_from else None
    hi = (
        ts(dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time(), tz))
        if flt.date_to else None
    )
    return lo, hi


async def attendance_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    tz = cfg.tz
    lo, hi = day_bounds(flt, tz)
    async with db.read() as conn:
        raw = await attendance_repo.export_rows(conn, lo, hi, group_id=flt.group_id)

    def local(text: str | None) -> dt.datetime | None:
        return parse_ts(text).astimezone(tz) if text else None

    rows: list[dict[str, Any]] = [
        {
            "member_id": r["member_id"], "name": r["name"], "group": r["group_name"] or "",
            "activity_id": r["activity_id"], "title": r["title"], "start": local(r["start_at"]),
            "status": r["status"], "checkin_at": local(r["checkin_at"]),
            "checkout_at": local(r["checkout_at"]), "note": r["note"] or "",
        }
        for r in raw
    ]
    return Sheet("attendance", list(COLUMNS), rows)

