"""The credits sheet of an export: every ledger row (reversals included, so the history reads
as it happened), with member, group, rule, source, note and who made it. Totals are sums of
`points` (a pivot table in Excel). The ledger is synced with its sources first."""

from __future__ import annotations

import datetime as dt

from bot.core.config import Config
from bot.credits.sync import sync
from bot.documents.exports import ExportFilter, Sheet
from storage import credits as ledger
from storage.db import Database, parse_ts

COLUMNS = [
    "date", "year", "member_id", "name", "group", "points", "rule", "source", "note", "by",
    "recorded_at",
]


async def credits_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    # The exporter API passes no clock; the time only stamps rows the sync appends.
    await sync(db, cfg, dt.datetime.now(cfg.tz))
    async with db.read() as conn:
        rows = await ledger.export_rows(
            conn,
            flt.date_from.isoformat() if flt.date_from else None,
            flt.date_to.isoformat() if flt.date_to else None,
            flt.group_id,
        )
    tz = cfg.tz
    return Sheet(
        "credits",
        COLUMNS,
        [
            {
                "date": dt.date.fromisoformat(r["on_date"]),
                "year": r["year"],
                "member_id": r["member_id"],
                "name": r["name"],
                "group": r["group_name"] or "",
                "points": float(r["points"]),
                "rule": r["rule"],
                "source": r["source"],
                "note": r["note"],
                "by": r["actor_name"] or "",
                "recorded_at": parse_ts(r["created_at"]).astimezone(tz),
            }
            for r in rows
        ],
        "credits",
        {"rule": "rule", "source": "source"},
    )
