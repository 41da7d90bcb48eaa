"""The reading sheet of an export (`studybot export reading`, `export all`, in-chat exports):
every study output, through the shared writer in bot/documents/exports.py (CSV with BOM, or .xlsx).

One row per submission (a book read, a paper, a reflection, a management analysis), columns:

member_id, name, group   the trainee
kind                     book | paper | reflection | management_analysis
book_id                  the catalog's book_id (empty for an own title and for other outputs)
title                    the book's or the output's title
category                 books: education_monograph | other (empty for other outputs)
finished_on              books: the day finished (YYYY-MM-DD)
status                   submitted | accepted | returned (the latest state)
counted                  whether it counts toward the targets under the current [reading]
                         review mode (是/否, yes/no; with --codes 1/0 in CSV, TRUE/FALSE in Excel)
submitted_at             last (re)submission, local time
reviewed_by, reviewed_at the latest acceptance or return, local time
comment                  the latest return comment (kept until the next review)
file                     the stored document, relative to [storage] files_dir (empty for text)
file_name                the document's name as the trainee sent it

`--from/--to` select by the entry's date: the day finished for books, the day submitted for
the other outputs; a group filter selects the trainee's group.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.config import Config
from bot.documents.exports import ExportFilter, Sheet
from bot.reading.rules import counts
from storage import reading as reading_repo
from storage.db import Database, parse_ts
from storage.reading import Submission

COLUMNS: list[str] = [
    "member_id", "name", "group", "kind", "book_id", "title", "category", "finished_on",
    "status", "counted", "submitted_at", "reviewed_by", "reviewed_at", "comment", "file",
    "file_name",
]


def entry_date(sub: Submission, tz: dt.tzinfo) -> dt.date:
    """The day an entry is filed under: finished (books) or submitted (other outputs)."""
    if sub.finished_on:
        return dt.date.fromisoformat(sub.finished_on)
    return parse_ts(sub.submitted_at).astimezone(tz).date()


def export_rows(subs: list[Submission], cfg: Config, flt: ExportFilter) -> list[dict[str, Any]]:
    """The sheet's rows, typed (dates and local datetimes) for the shared writers."""
    tz = cfg.tz

    def local(text: str | None) -> dt.datetime | None:
        return parse_ts(text).astimezone(tz) if text else None

    rows: list[dict[str, Any]] = []
    for s in subs:
        if not flt.contains(entry_date(s, tz)):
            continue
        if flt.group_id is not None and s.group_id != flt.group_id:
            continue
        category = ""
        if s.kind == "book":
            category = "education_monograph" if s.monograph else "other"
        rows.append({
            "member_id": s.member_id,
            "name": s.member_name,
            "group": s.group_name or "",
            "kind": s.kind,
            "book_id": s.book_code or "",
            "title": s.title,
            "category": category,
            "finished_on": dt.date.fromisoformat(s.finished_on) if s.finished_on else None,
            "status": s.status,
            "counted": counts(s.status, cfg.reading.review),
            "submitted_at": local(s.submitted_at),
            "reviewed_by": s.reviewer_name or "",
            "reviewed_at": local(s.reviewed_at),
            "comment": s.review_comment or "",
            "file": s.file.path if s.file else "",
            "file_name": s.file.name if s.file else "",
        })
    return rows


async def reading_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    async with db.read() as conn:
        subs = await reading_repo.everything(conn)
    return Sheet("reading", list(COLUMNS), export_rows(subs, cfg, flt), "reading",
                 {"kind": "reading_kind", "category": "category", "status": "reading_status"})

