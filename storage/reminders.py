"""Mute ranges, the activity reminders already dealt with, and digest runs."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import ClassVar

import aiosqlite

from storage.reports import IMPORTED_AFTER_IT_ENDED
from storage.rows import (
    Columns,
    FromRow,
    Select,
    changed,
    exists,
    fetch_all,
    fetch_rows,
    fetch_value,
    table_exists,
)
from storage.where import Where


@dataclass(frozen=True, slots=True)
class Mute:
    member_pk: int
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class DigestRun(FromRow):
    kind: str
    scope: str
    period: str
    covered_from: str
    covered_to: str
    status: str
    messages: int
    sent_at: str


@dataclass(frozen=True, slots=True)
class Candidate(FromRow):
    """An activity whose reminders may be due, with what the rules need to know."""

    pk: int
    type: str
    group_id: int | None
    start_at: str
    end_at: str
    changed_at: str
    done: frozenset[str]

    COLUMNS: ClassVar[Columns] = {
        "pk": "id",
        "changed_at": "updated_at",
        "done": lambda row: frozenset((row["done"] or "").split(",")) - {""},
    }


_RUNS = Select("SELECT * FROM digest_runs", DigestRun.from_row)


# -- mutes ------------------------------------------------------------------------------------


async def mutes_of(
    conn: aiosqlite.Connection, member_pk: int, *, ending_on_or_after: dt.date | None = None
) -> list[Mute]:
    where = Where().add("member_pk = ?", member_pk)
    if ending_on_or_after is not None:
        where.add("end_on >= ?", ending_on_or_after.isoformat())
    return await fetch_all(
        conn,
        f"SELECT member_pk, start_on, end_on FROM reminder_mutes WHERE {where.sql}"
        " ORDER BY start_on",
        where.params,
        _mute,
    )


async def muted_on(
    conn: aiosqlite.Connection, day: dt.date, member_pks: Iterable[int] | None = None
) -> set[int]:
    """Members muted on local date `day` (among `member_pks`, when given)."""
    iso = day.isoformat()
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT member_pk FROM reminder_mutes WHERE start_on <= ? AND end_on >= ?",
        (iso, iso),
    )
    found = {int(r[0]) for r in rows}
    return found if member_pks is None else found & set(member_pks)


async def replace_mutes(
    conn: aiosqlite.Connection, member_pk: int, ranges: Iterable[tuple[dt.date, dt.date]],
    now: str,
) -> None:
    """Sets the member's mute ranges to exactly `ranges` (already merged by the caller)."""
    await conn.execute("DELETE FROM reminder_mutes WHERE member_pk = ?", (member_pk,))
    await conn.executemany(
        "INSERT INTO reminder_mutes (member_pk, start_on, end_on, created_at) VALUES (?, ?, ?, ?)",
        [(member_pk, s.isoformat(), e.isoformat(), now) for s, e in ranges],
    )


def _mute(row: sqlite3.Row) -> Mute:
    return Mute(
        int(row["member_pk"]), dt.date.fromisoformat(row["start_on"]),
        dt.date.fromisoformat(row["end_on"]),
    )


# -- activity reminders -----------------------------------------------------------------------


async def reminder_candidates(
    conn: aiosqlite.Connection, now: str, start_before: str
) -> list[Candidate]:
    """Scheduled activities not over at `now` that start before `start_before`, with the
    reminder kinds already dealt with for their current start time."""
    return await fetch_all(
        conn,
        "SELECT a.id, a.type, a.group_id, a.start_at, a.end_at, a.updated_at,"
        " (SELECT group_concat(r.kind) FROM activity_reminders r"
        "  WHERE r.activity_pk = a.id AND r.start_at = a.start_at) AS done"
        " FROM activities a WHERE a.status = 'scheduled' AND a.end_at > ? AND a.start_at < ?"
        " ORDER BY a.start_at, a.id",
        (now, start_before),
        Candidate.from_row,
    )


async def mark_reminder(
    conn: aiosqlite.Connection, activity_pk: int, kind: str, start_at: str, now: str,
    queued: int,
) -> bool:
    """Records that reminder `kind` for this start was dealt with; False if already done."""
    return await changed(
        conn,
        "INSERT INTO activity_reminders (activity_pk, kind, start_at, done_at, queued)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (activity_pk, kind, start_at, now, queued),
    )


async def set_queued(
    conn: aiosqlite.Connection, activity_pk: int, kind: str, start_at: str, queued: int
) -> None:
    await conn.execute(
        "UPDATE activity_reminders SET queued = ? WHERE activity_pk = ? AND kind = ?"
        " AND start_at = ?",
        (queued, activity_pk, kind, start_at),
    )


# -- digest runs ------------------------------------------------------------------------------


async def run_for(
    conn: aiosqlite.Connection, kind: str, scope: str, period: str
) -> DigestRun | None:
    return await _RUNS.one(conn, "kind = ? AND scope = ? AND period = ?", kind, scope, period)


async def done_periods(conn: aiosqlite.Connection, kind: str, period: str) -> set[str]:
    """The scopes that already have a run of `kind` for `period`."""
    rows = await conn.execute_fetchall(
        "SELECT scope FROM digest_runs WHERE kind = ? AND period = ?", (kind, period)
    )
    return {str(r[0]) for r in rows}


async def latest_run(
    conn: aiosqlite.Connection, kind: str, scope: str, *, statuses: tuple[str, ...] = (
        "sent", "baseline")
) -> DigestRun | None:
    """The run of (kind, scope) that covered the latest time, among `statuses`."""
    where = Where().add("kind = ?", kind).add("scope = ?", scope).among("status", statuses)
    return await _RUNS.one(
        conn, f"{where.sql} ORDER BY covered_to DESC, id DESC LIMIT 1", *where.params
    )


async def has_runs(conn: aiosqlite.Connection, kind: str, scope: str) -> bool:
    return await exists(
        conn, "SELECT 1 FROM digest_runs WHERE kind = ? AND scope = ? LIMIT 1", (kind, scope)
    )


async def record_run(
    conn: aiosqlite.Connection, *, kind: str, scope: str, period: str, covered_from: str,
    covered_to: str, status: str, messages: int, now: str,
) -> bool:
    """Records a run; False (nothing written) when (kind, scope, period) already has one."""
    return await changed(
        conn,
        "INSERT INTO digest_runs (kind, scope, period, covered_from, covered_to, status,"
        " messages, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, scope, period) DO NOTHING",
        (kind, scope, period, covered_from, covered_to, status, messages, now),
    )


async def runs(conn: aiosqlite.Connection, kind: str | None = None) -> list[DigestRun]:
    where = Where().when(kind or None, "kind = ?")
    return await _RUNS.all(conn, f"{where.sql} ORDER BY covered_to, id", *where.params)


async def has_table(conn: aiosqlite.Connection, name: str) -> bool:
    """Whether a table exists (a digest section of a feature that has not landed is empty)."""
    return await table_exists(conn, name)


async def set_messages(
    conn: aiosqlite.Connection, kind: str, scope: str, period: str, messages: int
) -> None:
    await conn.execute(
        "UPDATE digest_runs SET messages = ? WHERE kind = ? AND scope = ? AND period = ?",
        (messages, kind, scope, period),
    )


# -- what digests read ------------------------------------------------------------------------


async def attendance_between(
    conn: aiosqlite.Connection, end_from: str, end_to: str, *, group_id: int | None = None
) -> list[sqlite3.Row]:
    """Scheduled activities that ended in [end_from, end_to), one row per roll-call record
    (or one row with NULL status for an activity without any), oldest first. With `group_id`:
    that group's activities and the events for everyone, with the group's members' records."""
    records = Where("r.activity_pk = a.id").when(
        group_id, "r.member_pk IN (SELECT id FROM members WHERE group_id = ?)"
    )
    where = (
        Where("a.status = 'scheduled'")
        .window("a.end_at", end_from, end_to)
        .when(group_id, "(a.type <> 'group_study' OR a.group_id = ?)")
    )
    return await fetch_rows(
        conn,
        "SELECT a.id AS activity_pk, a.activity_id, a.title, a.type, a.start_at, a.end_at,"
        " g.name AS group_name, r.status, m.name AS member_name, m.member_id"
        " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
        f" LEFT JOIN attendance r ON {records.sql}"
        " LEFT JOIN members m ON m.id = r.member_pk"
        f" WHERE {where.sql} ORDER BY a.start_at, a.id, m.member_id",
        (*records.params, *where.params),
    )


async def member_attendance_between(
    conn: aiosqlite.Connection, member_pk: int, end_from: str, end_to: str
) -> list[sqlite3.Row]:
    """The member's activities (own group's and everyone's) that ended in [end_from, end_to),
    with the member's status (NULL when there is no record), oldest first."""
    return await fetch_rows(
        conn,
        "SELECT a.id AS activity_pk, a.title, a.start_at, r.status"
        " FROM activities a JOIN members m ON m.id = ?"
        " LEFT JOIN attendance r ON r.activity_pk = a.id AND r.member_pk = m.id"
        " WHERE a.status = 'scheduled' AND a.end_at >= ? AND a.end_at < ?"
        " AND (a.type <> 'group_study' OR a.group_id = m.group_id)"
        " ORDER BY a.start_at, a.id",
        (member_pk, end_from, end_to),
    )


async def submissions_between(
    conn: aiosqlite.Connection, since: str, until: str
) -> list[sqlite3.Row]:
    """Reading logs and study outputs submitted in [since, until), oldest first."""
    return await fetch_rows(
        conn,
        "SELECT s.id, s.kind, s.title, s.status, s.submitted_at, m.name AS member_name,"
        " m.member_id, g.name AS group_name FROM reading_submissions s"
        " JOIN members m ON m.id = s.member_pk LEFT JOIN groups g ON g.id = m.group_id"
        " WHERE s.submitted_at >= ? AND s.submitted_at < ? ORDER BY s.submitted_at, s.id",
        (since, until),
    )


async def failed_between(
    conn: aiosqlite.Connection, since: str, until: str
) -> list[sqlite3.Row]:
    """Notifications Telegram refused for good (status 'failed', e.g. 400 Bad Request) whose
    last try was in [since, until), oldest first, with the recipient when it is a member."""
    return await fetch_rows(
        conn,
        "SELECT o.chat_id, o.payload, o.last_error, m.name AS member_name, m.member_id,"
        " g.name AS group_name FROM outbox o"
        " LEFT JOIN members m ON m.id = o.member_pk LEFT JOIN groups g ON g.id = m.group_id"
        " WHERE o.status = 'failed' AND o.not_before >= ? AND o.not_before < ?"
        " ORDER BY o.not_before, o.id",
        (since, until),
    )


async def submissions_awaiting_review(conn: aiosqlite.Connection) -> int:
    sql = "SELECT COUNT(*) FROM reading_submissions WHERE status = 'submitted'"
    return int(await fetch_value(conn, sql))


async def reportable_between(
    conn: aiosqlite.Connection, end_from: str, end_to: str, *, group_id: int | None = None
) -> list[sqlite3.Row]:
    """Hosted group activities that ended in [end_from, end_to), with their report's state
    (NULL columns while nobody has started one), oldest first."""
    where = (
        Where("a.type = 'group_study'", "a.status = 'scheduled'", "a.host_pk IS NOT NULL",
              f"NOT {IMPORTED_AFTER_IT_ENDED}")
        .window("a.end_at", end_from, end_to)
        .when(group_id, "a.group_id = ?")
    )
    return await fetch_rows(
        conn,
        "SELECT a.id AS activity_pk, a.title, a.start_at, a.end_at, g.name AS group_name,"
        " h.name AS host_name, r.state, r.submitted_at, r.late"
        " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
        " LEFT JOIN members h ON h.id = a.host_pk LEFT JOIN reports r ON r.activity_pk = a.id"
        f" WHERE {where.sql} ORDER BY a.end_at, a.id",
        where.params,
    )


# -- digest chart files -----------------------------------------------------------------------


async def pending_chart_files(conn: aiosqlite.Connection) -> set[str]:
    """The file names of digest charts that an outbox row still has to send (pending rows,
    429 retries included)."""
    rows = await conn.execute_fetchall(
        "SELECT json_extract(payload, '$.photo') FROM outbox"
        " WHERE status = 'pending' AND kind LIKE 'digest.%.chart'"
    )
    return {PurePath(str(r[0])).name for r in rows if r[0]}


async def latest_period(conn: aiosqlite.Connection, kind: str, scope: str) -> str | None:
    """The latest period (any status) of (kind, scope); periods of one kind sort as text."""
    period = await fetch_value(
        conn, "SELECT MAX(period) FROM digest_runs WHERE kind = ? AND scope = ?", (kind, scope)
    )
    return None if period is None else str(period)
