"""The roster sheet of an export: every member, active or not, with registration state."""

from __future__ import annotations

from bot.core.config import Config
from bot.documents.exports import ExportFilter, Sheet
from storage.db import Database, parse_ts

COLUMNS = [
    "member_id", "name", "role", "group", "school", "stage", "active", "registered_at",
    "unreachable",
]


async def roster_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    sql = (
        "SELECT m.*, g.name AS group_name FROM members m LEFT JOIN groups g ON g.id = m.group_id"
    )
    params: tuple[int, ...] = ()
    if flt.group_id is not None:
        sql += " WHERE m.group_id = ?"
        params = (flt.group_id,)
    rows = await db.fetchall(sql + " ORDER BY m.member_id", params)
    tz = cfg.tz
    return Sheet(
        "roster",
        COLUMNS,
        [
            {
                "member_id": r["member_id"],
                "name": r["name"],
                "role": r["role"],
                "group": r["group_name"] or "",
                "school": r["school"],
                "stage": r["stage"],
                "active": bool(r["active"]),
                "registered_at": parse_ts(r["registered_at"]).astimezone(tz)
                if r["registered_at"] else None,
                "unreachable": r["unreachable_at"] is not None,
            }
            for r in rows
        ],
        "roster",
        {"role": "role"},
    )
