"""The leave sheet of an export (`studybot export leave`, `export all`, in-chat /export): every
leave request, through the shared writer in bot/documents/exports.py (CSV with BOM, or .xlsx).

Columns:

request_id                 the request's number (as the bot shows it: #12)
member_id, name, group     the trainee and their group
activity_id, title, start  the activity (start in local time)
status                     pending | approved | rejected | withdrawn, or void: an approved
                           (or pending) leave of a trainee who checked in after all
reason                     the trainee's reason (or HR's, for an /excuse)
decided_by, decided_at     who approved or rejected it, and when (local time)
late                       recorded after the cutoff (HR's /excuse) or approved after the roll
                           call closed (是/否, yes/no; with --codes 1/0 in CSV, TRUE/FALSE in Excel)

`--from/--to` select by the local date the activity starts on (both inclusive); cancelled
activities are left out; a group filter (a leader's in-chat export) selects the requests of
that group's members.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.config import Config
from bot.documents.exports import ExportFilter, Sheet, local_time
from storage import leave as leave_repo
from storage.db import Database
from storage.leave import LeaveRequest

COLUMNS: list[str] = [
    "request_id", "member_id", "name", "group", "activity_id", "title", "start", "status",
    "reason", "decided_by", "decided_at", "late",
]


def export_rows(requests: list[LeaveRequest], cfg: Config) -> list[dict[str, Any]]:
    tz = cfg.tz

    def local(text: str | None) -> dt.datetime | None:
        return local_time(text, tz)

    return [
        {
            "request_id": r.id,
            "member_id": r.member_id,
            "name": r.member_name,
            "group": r.member_group_name or "",
            "activity_id": r.activity_id,
            "title": r.title,
            "start": local(r.start_at),
            "status": r.state,
            "reason": r.reason,
            "decided_by": r.decider_name or "",
            "decided_at": local(r.decided_at),
            "late": r.late,
        }
        for r in requests
    ]


async def leave_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    lo, hi = flt.stored_range(cfg.tz)
    async with db.read() as conn:
        found = await leave_repo.export_rows(conn, lo, hi, flt.group_id)
    return Sheet("leave", list(COLUMNS), export_rows(found, cfg), "leave", {"status": "leave"})
