"""The reports sheet of an export (`studybot export reports`, `export all`, /export), through
the shared writer in bot/documents/exports.py (CSV with BOM, or .xlsx with a bold frozen
filtered header and real dates).

One row per group activity with a host, filed or not, columns:

activity_id, title, group       the activity
date                            its local date
host_member_id, host            who hosts it (and so reports on it)
due_at                          the deadline, local time (the one it was filed against, once filed)
submitted_at                    when the report was first submitted, local time (empty: not filed)
late                            1 when filed after the deadline, 0 on time, empty when not filed
present, late_count, early_leave, absent, excused
                                the roll call: as it stood at the (last) submission, else now
stated_headcount                the number of people the host says came
studied, highlights             the report's text
photos                          how many photos it has
recommended                     the recommended work: "member_id name: title" (empty: none)

`--from/--to` select activities by their local date (both inclusive).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.config import Config
from bot.documents.exports import ExportFilter, Sheet
from bot.reports.flow import deadline_of
from storage import reports as reports_repo
from storage.db import Database, parse_ts, ts
from storage.reports import Reportable

COLUMNS: tuple[str, ...] = (
    "activity_id", "title", "group", "date", "host_member_id", "host", "due_at",
    "submitted_at", "late", "present", "late_count", "early_leave", "absent", "excused",
    "stated_headcount", "studied", "highlights", "photos", "recommended",
)
ROLL = {"present": "present", "late_count": "late", "early_leave": "early_leave",
        "absent": "absent", "excused": "excused"}


def export_row(
    item: Reportable, cfg: Config, live_roll: dict[str, int],
    recommended: tuple[str, str] | None,
) -> dict[str, Any]:
    tz = cfg.tz
    report = item.report
    submitted = report is not None and report.submitted
    roll = report.roll if report is not None and report.roll is not None else live_roll
    row: dict[str, Any] = {
        "activity_id": item.activity_id,
        "title": item.title,
        "group": item.group_name or "",
        "date": parse_ts(item.start_at).astimezone(tz).date(),
        "host_member_id": item.host_member_id,
        "host": item.host_name,
        "due_at": deadline_of(cfg, item),
        "submitted_at": parse_ts(report.submitted_at).astimezone(tz)
        if report is not None and report.submitted_at else None,
        "late": report.late if submitted and report is not None else None,
        "stated_headcount": report.stated_headcount if report is not None else None,
        "studied": report.studied or "" if report is not None else "",
        "highlights": report.highlights or "" if report is not None else "",
        "photos": item.photos,
        "recommended": "",
    }
    for column, status in ROLL.items():
        row[column] = roll.get(status, 0)
    if report is not None and recommended is not None:
        member_id, name = recommended
        row["recommended"] = f"{member_id} {name}: {report.recommended_title or ''}"
    return row


async def reports_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    tz = cfg.tz
    lo = ts(dt.datetime.combine(flt.date_from, dt.time(), tz)) if flt.date_from else None
    hi = (
        ts(dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time(), tz))
        if flt.date_to else None
    )
    async with db.read() as conn:
        items = await reports_repo.export_rows(conn, lo, hi)
        if flt.group_id is not None:
            items = [i for i in items if i.group_id == flt.group_id]
        rolls = await reports_repo.roll_counts(conn, [i.activity_pk for i in items])
        rec_pks = sorted({i.report.recommended_member_pk for i in items
                          if i.report is not None and i.report.recommended_member_pk})
        labels = await reports_repo.member_labels(conn, rec_pks)
    rows = [
        export_row(
            i, cfg, rolls.get(i.activity_pk, {}),
            labels.get(i.report.recommended_member_pk)
            if i.report is not None and i.report.recommended_member_pk else None,
        )
        for i in items
    ]
    return Sheet("reports", list(COLUMNS), rows, "reports")

