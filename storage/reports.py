"""Activity reports and their photos: one report per group activity, a draft until submitted.

A draft holds what the host has given so far (each answer and each photo is saved as it
arrives, so a restart loses nothing). Photos sent while amending a submitted report are
`staged` and replace the report's photos only when the amendment is submitted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import aiosqlite

from storage.rows import (
    Columns,
    FromRow,
    cast,
    changed,
    exists,
    fetch_all,
    fetch_in,
    fetch_one,
    fetch_value,
)
from storage.where import Where

# Columns a draft's answers go to (the only names set_fields accepts).
FIELDS: tuple[str, ...] = (
    "studied", "highlights", "recommended_member_pk", "recommended_title", "recommended_text",
    "recommended_file", "recommended_file_name", "stated_headcount",
)
ROLL_COLUMNS: dict[str, str] = {
    "present": "rc_present", "late": "rc_late", "early_leave": "rc_early_leave",
    "absent": "rc_absent", "excused": "rc_excused",
}


def _roll(row: sqlite3.Row) -> dict[str, int] | None:
    """The roll call as it stood at submission, or None before."""
    if row["rc_present"] is None:
        return None
    return {status: int(row[col] or 0) for status, col in ROLL_COLUMNS.items()}


@dataclass(frozen=True, slots=True)
class Report(FromRow):
    pk: int
    activity_pk: int
    host_pk: int
    state: str
    studied: str | None
    highlights: str | None
    recommended_member_pk: int | None
    recommended_title: str | None
    recommended_text: str | None
    recommended_file: str | None
    recommended_file_name: str | None
    stated_headcount: int | None
    roll: dict[str, int] | None
    due_at: str | None
    submitted_at: str | None
    amended_at: str | None
    amendments: int
    late: bool

    @property
    def submitted(self) -> bool:
        return self.state == "submitted"

    COLUMNS: ClassVar[Columns] = {"pk": "id", "roll": _roll, "late": cast("late", bool)}


@dataclass(frozen=True, slots=True)
class Photo(FromRow):
    pk: int
    position: int
    file_path: str
    file_id: str
    file_unique_id: str

    COLUMNS: ClassVar[Columns] = {"pk": "id"}


@dataclass(frozen=True, slots=True)
class Reportable(FromRow):
    """A group activity that has (or will have) a report, with its report if one was begun."""

    activity_pk: int
    activity_id: str
    title: str
    group_id: int | None
    group_name: str | None
    start_at: str
    end_at: str
    created_at: str
    host_pk: int
    host_name: str
    host_member_id: str
    report: Report | None
    photos: int

    # The activity's columns are aliased (a_...): the report's own `r.*` come with the row.
    COLUMNS: ClassVar[Columns] = {
        "activity_pk": "a_id",
        "created_at": "a_created_at",
        "host_pk": "a_host_pk",
        "report": lambda row: None if row["id"] is None else Report.from_row(row),
        "photos": cast("n_photos", lambda n: int(n or 0)),
    }


async def get(conn: aiosqlite.Connection, report_pk: int) -> Report | None:
    return await fetch_one(
        conn, "SELECT * FROM reports WHERE id = ?", (report_pk,), Report.from_row
    )


async def for_activity(conn: aiosqlite.Connection, activity_pk: int) -> Report | None:
    return await fetch_one(
        conn, "SELECT * FROM reports WHERE activity_pk = ?", (activity_pk,), Report.from_row
    )


async def ensure_draft(
    conn: aiosqlite.Connection, activity_pk: int, host_pk: int, now: str
) -> Report:
    """The activity's report, created as an empty draft when there is none. A draft begun by
    an earlier host passes to the current one."""
    await conn.execute(
        "INSERT INTO reports (activity_pk, host_pk, created_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (activity_pk) DO NOTHING",
        (activity_pk, host_pk, now, now),
    )
    await conn.execute(
        "UPDATE reports SET host_pk = ?, updated_at = ? WHERE activity_pk = ? AND state = 'draft'"
        " AND host_pk <> ?",
        (host_pk, now, activity_pk, host_pk),
    )
    report = await for_activity(conn, activity_pk)
    assert report is not None
    return report


async def set_fields(
    conn: aiosqlite.Connection, report_pk: int, now: str, values: Mapping[str, Any]
) -> None:
    """Saves answers of a draft (or of an amendment being submitted)."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"not report fields: {sorted(unknown)}")
    if not values:
        return
    # Column names come from FIELDS, never from data.
    assignments = ", ".join(f"{name} = ?" for name in values)
    await conn.execute(
        f"UPDATE reports SET {assignments}, updated_at = ? WHERE id = ?",
        (*values.values(), now, report_pk),
    )


async def submit(
    conn: aiosqlite.Connection, report_pk: int, *, now: str, due_at: str, late: bool,
    roll: Mapping[str, int],
) -> bool:
    """Marks a draft submitted with the roll call as it stands; False if it was not a draft."""
    return await changed(
        conn,
        "UPDATE reports SET state = 'submitted', submitted_at = ?, due_at = ?, late = ?,"
        " rc_present = ?, rc_late = ?, rc_early_leave = ?, rc_absent = ?, rc_excused = ?,"
        " updated_at = ? WHERE id = ? AND state = 'draft'",
        (now, due_at, int(late), *(int(roll.get(s, 0)) for s in ROLL_COLUMNS), now, report_pk),
    )


async def amend(
    conn: aiosqlite.Connection, report_pk: int, *, now: str, values: Mapping[str, Any],
    roll: Mapping[str, int],
) -> bool:
    """Applies an amendment to a submitted report; False if it is not submitted."""
    report = await get(conn, report_pk)
    if report is None or not report.submitted:
        return False
    await set_fields(conn, report_pk, now, values)
    await conn.execute(
        "UPDATE reports SET amended_at = ?, amendments = amendments + 1, rc_present = ?,"
        " rc_late = ?, rc_early_leave = ?, rc_absent = ?, rc_excused = ? WHERE id = ?",
        (now, *(int(roll.get(s, 0)) for s in ROLL_COLUMNS), report_pk),
    )
    return True


async def photos(
    conn: aiosqlite.Connection, report_pk: int, *, staged: bool = False
) -> list[Photo]:
    return await fetch_all(
        conn,
        "SELECT id, position, file_path, file_id, file_unique_id FROM report_photos"
        " WHERE report_pk = ? AND staged = ? ORDER BY position, id",
        (report_pk, int(staged)),
        Photo.from_row,
    )


async def photo_count(conn: aiosqlite.Connection, report_pk: int, *, staged: bool = False) -> int:
    return int(await fetch_value(
        conn, "SELECT COUNT(*) FROM report_photos WHERE report_pk = ? AND staged = ?",
        (report_pk, int(staged)),
    ))


async def has_photo(
    conn: aiosqlite.Connection, report_pk: int, file_unique_id: str, *, staged: bool = False
) -> bool:
    return await exists(
        conn,
        "SELECT 1 FROM report_photos WHERE report_pk = ? AND staged = ? AND file_unique_id = ?",
        (report_pk, int(staged), file_unique_id),
    )


async def add_photo(
    conn: aiosqlite.Connection, report_pk: int, *, file_path: str, file_id: str,
    file_unique_id: str, file_size: int | None, media_group_id: str | None, staged: bool,
    limit: int, now: str,
) -> int | None:
    """Appends a photo; returns the new count, or None when full or the photo is already there."""
    count = await photo_count(conn, report_pk, staged=staged)
    if count >= limit:
        return None
    added = await changed(
        conn,
        "INSERT INTO report_photos (report_pk, position, file_path, file_id, file_unique_id,"
        " file_size, media_group_id, staged, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (report_pk, staged, file_unique_id) DO NOTHING",
        (report_pk, count + 1, file_path, file_id, file_unique_id, file_size, media_group_id,
         int(staged), now),
    )
    return count + 1 if added else None


async def clear_photos(
    conn: aiosqlite.Connection, report_pk: int, *, staged: bool
) -> list[str]:
    """Removes the report's (or the staged) photos; returns their file paths."""
    gone = [p.file_path for p in await photos(conn, report_pk, staged=staged)]
    await conn.execute(
        "DELETE FROM report_photos WHERE report_pk = ? AND staged = ?", (report_pk, int(staged))
    )
    return gone


async def promote_staged(conn: aiosqlite.Connection, report_pk: int) -> list[str]:
    """The staged photos become the report's; returns the file paths of the ones replaced."""
    gone = await clear_photos(conn, report_pk, staged=False)
    await conn.execute(
        "UPDATE report_photos SET staged = 0 WHERE report_pk = ? AND staged = 1", (report_pk,)
    )
    return gone


# An activity imported after it had ended (closed by the import itself, without a roll call:
# bot.activities.importer) took place without the bot: no report is due, nothing is listed.
IMPORTED_AFTER_IT_ENDED = (
    "(a.source = 'import' AND a.closed_at IS a.created_at AND a.end_at <= a.created_at)"
)

_REPORTABLE = (
    "SELECT a.id AS a_id, a.activity_id, a.title, a.group_id, g.name AS group_name, a.start_at,"
    " a.end_at, a.created_at AS a_created_at, a.host_pk AS a_host_pk, h.name AS host_name,"
    " h.member_id AS host_member_id, r.*,"
    " (SELECT COUNT(*) FROM report_photos p WHERE p.report_pk = r.id AND p.staged = 0)"
    " AS n_photos"
    " FROM activities a JOIN members h ON h.id = a.host_pk"
    " LEFT JOIN groups g ON g.id = a.group_id"
    " LEFT JOIN reports r ON r.activity_pk = a.id"
    " WHERE a.type = 'group_study' AND a.status = 'scheduled' AND a.host_pk IS NOT NULL"
    f" AND NOT {IMPORTED_AFTER_IT_ENDED}"
)


async def reportable(
    conn: aiosqlite.Connection,
    *,
    ended_by: str,
    ended_after: str | None = None,
    group_id: int | None = None,
    host_pk: int | None = None,
    unsubmitted_only: bool = False,
    limit: int = 500,
) -> list[Reportable]:
    """Group activities with a host that ended in (ended_after, ended_by], newest first, with
    their reports; only one group's or one host's when given."""
    where = (
        Where()
        .add("a.end_at <= ?", ended_by)
        .when(ended_after, "a.end_at > ?")
        .when(group_id, "a.group_id = ?")
        .when(host_pk, "a.host_pk = ?")
    )
    if unsubmitted_only:
        where.add("(r.id IS NULL OR r.state = 'draft')")
    return await fetch_all(
        conn,
        f"{_REPORTABLE} AND {where.sql} ORDER BY a.end_at DESC, a.id DESC LIMIT ?",
        (*where.params, limit),
        Reportable.from_row,
    )


async def reportable_one(conn: aiosqlite.Connection, activity_pk: int) -> Reportable | None:
    return await fetch_one(
        conn, f"{_REPORTABLE} AND a.id = ?", (activity_pk,), Reportable.from_row
    )


async def export_rows(
    conn: aiosqlite.Connection, start_from: str | None, start_to: str | None
) -> list[Reportable]:
    """Every reportable activity starting in [start_from, start_to), oldest first."""
    where = Where().window("a.start_at", start_from, start_to)
    return await fetch_all(
        conn,
        f"{_REPORTABLE} AND {where.sql} ORDER BY a.start_at, a.activity_id",
        where.params,
        Reportable.from_row,
    )


async def roll_counts(
    conn: aiosqlite.Connection, activity_pks: list[int]
) -> dict[int, dict[str, int]]:
    """Roll-call records per status, by activity (for reports not yet filed)."""
    out: dict[int, dict[str, int]] = {}
    rows = await fetch_in(
        conn,
        lambda marks: "SELECT activity_pk, status, COUNT(*) FROM attendance"
        f" WHERE activity_pk IN ({marks}) GROUP BY activity_pk, status",
        activity_pks,
    )
    for r in rows:
        out.setdefault(int(r[0]), {})[str(r[1])] = int(r[2])
    return out


async def member_labels(conn: aiosqlite.Connection, pks: list[int]) -> dict[int, tuple[str, str]]:
    """(member_id, name) by member pk."""
    rows = await fetch_in(
        conn, lambda marks: f"SELECT id, member_id, name FROM members WHERE id IN ({marks})", pks
    )
    return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}
