"""Activity reports and their photos: one report per group activity, a draft until submitted.

A draft holds what the host has given so far (each answer and each photo is saved as it
arrives, so a restart loses nothing). Photos sent while amending a submitted report are
`staged` and replace the report's photos only when the amendment is submitted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

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


@dataclass(frozen=True, slots=True)
class Report:
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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Report:
        roll = None
        if row["rc_present"] is not None:
            roll = {status: int(row[col] or 0) for status, col in ROLL_COLUMNS.items()}
        return cls(
            pk=row["id"],
            activity_pk=row["activity_pk"],
            host_pk=row["host_pk"],
            state=row["state"],
            studied=row["studied"],
            highlights=row["highlights"],
            recommended_member_pk=row["recommended_member_pk"],
            recommended_title=row["recommended_title"],
            recommended_text=row["recommended_text"],
            recommended_file=row["recommended_file"],
            recommended_file_name=row["recommended_file_name"],
            stated_headcount=row["stated_headcount"],
            roll=roll,
            due_at=row["due_at"],
            submitted_at=row["submitted_at"],
            amended_at=row["amended_at"],
            amendments=row["amendments"],
            late=bool(row["late"]),
        )


@dataclass(frozen=True, slots=True)
class Photo:
    pk: int
    position: int
    file_path: str
    file_id: str
    file_unique_id: str


@dataclass(frozen=True, slots=True)
class Reportable:
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


async def get(conn: aiosqlite.Connection, report_pk: int) -> Report | None:
    async with conn.execute("SELECT * FROM reports WHERE id = ?", (report_pk,)) as cur:
        row = await cur.fetchone()
    return Report.from_row(row) if row else None


async def for_activity(conn: aiosqlite.Connection, activity_pk: int) -> Report | None:
    async with conn.execute("SELECT * FROM reports WHERE activity_pk = ?", (activity_pk,)) as cur:
        row = await cur.fetchone()
    return Report.from_row(row) if row else None


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
    cur = await conn.execute(
        "UPDATE reports SET state = 'submitted', submitted_at = ?, due_at = ?, late = ?,"
        " rc_present = ?, rc_late = ?, rc_early_leave = ?, rc_absent = ?, rc_excused = ?,"
        " updated_at = ? WHERE id = ? AND state = 'draft'",
        (now, due_at, int(late), *(int(roll.get(s, 0)) for s in ROLL_COLUMNS), now, report_pk),
    )
    return cur.rowcount > 0


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
    rows = await conn.execute_fetchall(
        "SELECT id, position, file_path, file_id, file_unique_id FROM report_photos"
        " WHERE report_pk = ? AND staged = ? ORDER BY position, id",
        (report_pk, int(staged)),
    )
    return [Photo(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def photo_count(conn: aiosqlite.Connection, report_pk: int, *, staged: bool = False) -> int:
    async with conn.execute(
        "SELECT COUNT(*) FROM report_photos WHERE report_pk = ? AND staged = ?",
        (report_pk, int(staged)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def has_photo(
    conn: aiosqlite.Connection, report_pk: int, file_unique_id: str, *, staged: bool = False
) -> bool:
    async with conn.execute(
        "SELECT 1 FROM report_photos WHERE report_pk = ? AND staged = ? AND file_unique_id = ?",
        (report_pk, int(staged), file_unique_id),
    ) as cur:
        return await cur.fetchone() is not None


async def add_photo(
    conn: aiosqlite.Connection, report_pk: int, *, file_path: str, file_id: str,
    file_unique_id: str, file_size: int | None, media_group_id: str | None, staged: bool,
    limit: int, now: str,
) -> int | None:
    """Appends a photo; returns the new count, or None when full or the photo is already there."""
    count = await photo_count(conn, report_pk, staged=staged)
    if count >= limit:
        return None
    cur = await conn.execute(
        "INSERT INTO report_photos (report_pk, position, file_path, file_id, file_unique_id,"
        " file_size, media_group_id, staged, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (report_pk, staged, file_unique_id) DO NOTHING",
        (report_pk, count + 1, file_path, file_id, file_unique_id, file_size, media_group_id,
         int(staged), now),
    )
    return count + 1 if cur.rowcount else None


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
)


def _reportable(row: sqlite3.Row) -> Reportable:
    return Reportable(
        activity_pk=row["a_id"],
        activity_id=row["activity_id"],
        title=row["title"],
        group_id=row["group_id"],
        group_name=row["group_name"],
        start_at=row["start_at"],
        end_at=row["end_at"],
        created_at=row["a_created_at"],
        host_pk=row["a_host_pk"],
        host_name=row["host_name"],
        host_member_id=row["host_member_id"],
        report=Report.from_row(row) if row["id"] is not None else None,
        photos=int(row["n_photos"] or 0),
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
    rows = await conn.execute_fetchall(
        f"{_REPORTABLE} AND {where.sql} ORDER BY a.end_at DESC, a.id DESC LIMIT ?",
        (*where.params, limit),
    )
    return [_reportable(r) for r in rows]


async def reportable_one(conn: aiosqlite.Connection, activity_pk: int) -> Reportable | None:
    async with conn.execute(f"{_REPORTABLE} AND a.id = ?", (activity_pk,)) as cur:
        row = await cur.fetchone()
    return _reportable(row) if row else None


async def export_rows(
    conn: aiosqlite.Connection, start_from: str | None, start_to: str | None
) -> list[Reportable]:
    """Every reportable activity starting in [start_from, start_to), oldest first."""
    where = Where().window("a.start_at", start_from, start_to)
    rows = await conn.execute_fetchall(
        f"{_REPORTABLE} AND {where.sql} ORDER BY a.start_at, a.activity_id",
        tuple(where.params),
    )
    return [_reportable(r) for r in rows]


async def roll_counts(
    conn: aiosqlite.Connection, activity_pks: list[int]
) -> dict[int, dict[str, int]]:
    """Roll-call records per status, by activity (for reports not yet filed)."""
    out: dict[int, dict[str, int]] = {}
    for i in range(0, len(activity_pks), 500):
        chunk = activity_pks[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = await conn.execute_fetchall(
            f"SELECT activity_pk, status, COUNT(*) FROM attendance WHERE activity_pk IN ({marks})"
            " GROUP BY activity_pk, status",
            tuple(chunk),
        )
        for r in rows:
            out.setdefault(int(r[0]), {})[str(r[1])] = int(r[2])
    return out


async def member_labels(conn: aiosqlite.Connection, pks: list[int]) -> dict[int, tuple[str, str]]:
    """(member_id, name) by member pk."""
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(pks), 500):
        chunk = pks[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = await conn.execute_fetchall(
            f"SELECT id, member_id, name FROM members WHERE id IN ({marks})", tuple(chunk)
        )
        out.update({int(r[0]): (str(r[1]), str(r[2])) for r in rows})
    return out
