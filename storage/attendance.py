"""Roll-call records: one per (activity, member), made by a check-in or when roll call closes.

The UNIQUE (activity_pk, member_pk) constraint is what makes a double check-in impossible,
however many updates race: the second insert finds the row and inserts nothing. Corrections
change a record and keep old value, new value, who and why in `attendance_corrections`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiosqlite

from storage.rows import FromRow, Select, changed, fetch_all, marks
from storage.where import Where


@dataclass(frozen=True, slots=True)
class Record(FromRow):
    activity_pk: int
    member_pk: int
    status: str
    checkin_at: str | None
    checkout_at: str | None
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class Correction(FromRow):
    member_pk: int
    old_status: str | None
    new_status: str
    reason: str
    actor_pk: int
    actor_name: str
    at: str


_RECORDS = Select("SELECT * FROM attendance", Record.from_row)


async def get(conn: aiosqlite.Connection, activity_pk: int, member_pk: int) -> Record | None:
    return await _RECORDS.one(conn, "activity_pk = ? AND member_pk = ?", activity_pk, member_pk)


async def check_in(
    conn: aiosqlite.Connection,
    activity_pk: int,
    member_pk: int,
    status: str,
    at: str,
    source: str,
) -> bool:
    """Records a check-in; False (and nothing changed) when the member already has a record."""
    return await changed(
        conn,
        "INSERT INTO attendance (activity_pk, member_pk, status, checkin_at, source, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (activity_pk, member_pk) DO NOTHING",
        (activity_pk, member_pk, status, at, source, at, at),
    )


async def wrong_codes_since(
    conn: aiosqlite.Connection, activity_pk: int, member_pk: int, since: str
) -> list[str]:
    """When the member typed a wrong check-in code for the activity, from `since` on."""
    rows = await conn.execute_fetchall(
        "SELECT at FROM checkin_tries WHERE member_pk = ? AND activity_pk = ? AND at > ?"
        " ORDER BY at",
        (member_pk, activity_pk, since),
    )
    return [str(r[0]) for r in rows]


async def add_wrong_code(
    conn: aiosqlite.Connection, activity_pk: int, member_pk: int, at: str, prune_before: str
) -> None:
    """Records a wrong code; the member's tries for the activity before `prune_before` go."""
    await conn.execute(
        "DELETE FROM checkin_tries WHERE member_pk = ? AND activity_pk = ? AND at <= ?",
        (member_pk, activity_pk, prune_before),
    )
    await conn.execute(
        "INSERT INTO checkin_tries (activity_pk, member_pk, at) VALUES (?, ?, ?)",
        (activity_pk, member_pk, at),
    )


def check_in_if_unchanged(
    conn: sqlite3.Connection,
    activity_pk: int,
    start_at: str,
    end_at: str,
    member_pk: int,
    status: str,
    at: str,
    source: str,
) -> bool:
    """Records a check-in only while the activity is still scheduled at `start_at`-`end_at`
    (as the caller read it) and the member has no record; one statement. Synchronous: the hot
    path runs it inside `Database.run_tx` on the database thread."""
    cur = conn.execute(
        "INSERT INTO attendance (activity_pk, member_pk, status, checkin_at, source, created_at,"
        " updated_at) SELECT id, ?, ?, ?, ?, ?, ? FROM activities"
        " WHERE id = ? AND status = 'scheduled' AND start_at = ? AND end_at = ?"
        " ON CONFLICT (activity_pk, member_pk) DO NOTHING",
        (member_pk, status, at, source, at, at, activity_pk, start_at, end_at),
    )
    return cur.rowcount > 0


async def check_out(
    conn: aiosqlite.Connection, activity_pk: int, member_pk: int, at: str, *, early: bool
) -> bool:
    """Records the check-out of someone checked in and not yet out; early makes it early_leave."""
    status_sql = "'early_leave'" if early else "status"
    return await changed(
        conn,
        f"UPDATE attendance SET checkout_at = ?, status = {status_sql}, updated_at = ?"
        " WHERE activity_pk = ? AND member_pk = ? AND checkout_at IS NULL"
        " AND status IN ('present', 'late')",
        (at, at, activity_pk, member_pk),
    )


async def close(
    conn: aiosqlite.Connection, activity_pk: int, statuses: Mapping[int, str], at: str
) -> list[int]:
    """Adds the closing records (absent/excused) for members without one; returns who got one."""
    added: list[int] = []
    for member_pk, status in statuses.items():
        if await changed(
            conn,
            "INSERT INTO attendance (activity_pk, member_pk, status, source, created_at,"
            " updated_at) VALUES (?, ?, ?, 'close', ?, ?)"
            " ON CONFLICT (activity_pk, member_pk) DO NOTHING",
            (activity_pk, member_pk, status, at, at),
        ):
            added.append(member_pk)
    return added


async def recorded_member_pks(conn: aiosqlite.Connection, activity_pk: int) -> set[int]:
    rows = await conn.execute_fetchall(
        "SELECT member_pk FROM attendance WHERE activity_pk = ?", (activity_pk,)
    )
    return {int(r[0]) for r in rows}


async def roll(conn: aiosqlite.Connection, activity_pk: int) -> dict[int, Record]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM attendance WHERE activity_pk = ?", (activity_pk,)
    )
    return {int(r["member_pk"]): Record.from_row(r) for r in rows}


async def for_member(
    conn: aiosqlite.Connection, member_pk: int, activity_pks: Iterable[int]
) -> dict[int, Record]:
    """The member's records of the given activities, by activity pk."""
    pks = sorted(set(activity_pks))
    if not pks:
        return {}
    rows = await conn.execute_fetchall(
        f"SELECT * FROM attendance WHERE member_pk = ? AND activity_pk IN ({marks(pks)})",
        (member_pk, *pks),
    )
    return {int(r["activity_pk"]): Record.from_row(r) for r in rows}


async def member_statuses_between(
    conn: aiosqlite.Connection, member_pk: int, start_from: str, start_to: str
) -> list[str]:
    """The member's statuses for scheduled activities starting in [start_from, start_to)."""
    rows = await conn.execute_fetchall(
        "SELECT r.status FROM attendance r JOIN activities a ON a.id = r.activity_pk"
        " WHERE r.member_pk = ? AND a.status = 'scheduled' AND a.start_at >= ?"
        " AND a.start_at < ?",
        (member_pk, start_from, start_to),
    )
    return [str(r[0]) for r in rows]


async def correct(
    conn: aiosqlite.Connection,
    activity_pk: int,
    member_pk: int,
    new_status: str,
    reason: str,
    actor_pk: int,
    at: str,
) -> str | None:
    """Sets a record's status (creating the record if there is none) and keeps the audit row.

    Returns the old status (None when there was no record).
    """
    old = await get(conn, activity_pk, member_pk)
    if old is None:
        await conn.execute(
            "INSERT INTO attendance (activity_pk, member_pk, status, note, source, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'correction', ?, ?)",
            (activity_pk, member_pk, new_status, reason, at, at),
        )
    else:
        await conn.execute(
            "UPDATE attendance SET status = ?, note = ?, source = 'correction', updated_at = ?"
            " WHERE activity_pk = ? AND member_pk = ?",
            (new_status, reason, at, activity_pk, member_pk),
        )
    await conn.execute(
        "INSERT INTO attendance_corrections (activity_pk, member_pk, old_status, new_status,"
        " reason, actor_pk, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (activity_pk, member_pk, old.status if old else None, new_status, reason, actor_pk, at),
    )
    return old.status if old else None


async def corrections(conn: aiosqlite.Connection, activity_pk: int) -> list[Correction]:
    return await fetch_all(
        conn,
        "SELECT c.*, m.name AS actor_name FROM attendance_corrections c"
        " JOIN members m ON m.id = c.actor_pk WHERE c.activity_pk = ? ORDER BY c.at, c.id",
        (activity_pk,),
        Correction.from_row,
    )


async def export_rows(
    conn: aiosqlite.Connection,
    start_from: str | None,
    start_to: str | None,
    *,
    group_id: int | None = None,
) -> list[sqlite3.Row]:
    """Every record of scheduled activities starting in [start_from, start_to), in order;
    with `group_id`, only the records of that group's members."""
    where = (
        Where("a.status = 'scheduled'")
        .window("a.start_at", start_from, start_to)
        .when(group_id, "m.group_id = ?")
    )
    rows = await conn.execute_fetchall(
        "SELECT m.member_id, m.name, g.name AS group_name, a.activity_id, a.title, a.start_at,"
        " r.status, r.checkin_at, r.checkout_at, r.note"
        " FROM attendance r JOIN activities a ON a.id = r.activity_pk"
        " JOIN members m ON m.id = r.member_pk LEFT JOIN groups g ON g.id = m.group_id"
        f" WHERE {where.sql} ORDER BY a.start_at, a.activity_id, m.member_id",
        tuple(where.params),
    )
    return list(rows)


# -- hooks the leave feature fills ----------------------------------------------------------


async def excused_member_pks(conn: aiosqlite.Connection, activity_pk: int) -> set[int]:
    """Members with approved leave for the activity: recorded `excused` when roll call closes.
    (A leave withdrawn, or void because its trainee checked in, is no longer `approved`.)"""
    rows = await conn.execute_fetchall(
        "SELECT member_pk FROM leave_requests WHERE activity_pk = ? AND state = 'approved'",
        (activity_pk,),
    )
    return {int(r[0]) for r in rows}


# Leave request states as /upcoming words them (attendance.leave.*); a void leave is not shown.
_LEAVE_STATUS = {"pending": "pending", "approved": "approved", "rejected": "rejected",
                 "withdrawn": "cancelled"}


async def leave_statuses(
    conn: aiosqlite.Connection, member_pk: int, activity_pks: Iterable[int]
) -> dict[int, str]:
    """The member's latest leave request status per activity pk (pending, approved, rejected,
    cancelled), shown by /upcoming."""
    pks = sorted(set(activity_pks))
    if not pks:
        return {}
    rows = await conn.execute_fetchall(
        "SELECT activity_pk, state FROM leave_requests WHERE member_pk = ?"
        f" AND activity_pk IN ({marks(pks)}) ORDER BY id",
        (member_pk, *pks),
    )
    latest = {int(r[0]): str(r[1]) for r in rows}  # ordered by id: the newest wins
    return {pk: _LEAVE_STATUS[s] for pk, s in latest.items() if s in _LEAVE_STATUS}
