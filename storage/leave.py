"""Leave requests and the approvers' messages about them.

Every state change is a conditional UPDATE on the state the caller read (`... WHERE state =
'pending'`), so two approvers pressing at once make one decision: the second finds nothing to
update. The partial UNIQUE index keeps one open (pending or approved) request per member and
activity, however many requests race.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import aiosqlite

from storage.rows import Columns, FromRow, Select, cast, changed, new_id_or_none
from storage.where import Where

_SELECT = (
    "SELECT r.*, m.member_id, m.name AS member_name, m.group_id AS member_group_id,"
    " mg.name AS member_group_name, a.activity_id, a.title, a.type AS activity_type,"
    " a.group_id AS activity_group_id, a.start_at, a.end_at, a.status AS activity_status,"
    " a.closed_at, d.name AS decider_name"
    " FROM leave_requests r JOIN members m ON m.id = r.member_pk"
    " LEFT JOIN groups mg ON mg.id = m.group_id"
    " JOIN activities a ON a.id = r.activity_pk"
    " LEFT JOIN members d ON d.id = r.decided_by"
)


@dataclass(frozen=True, slots=True)
class LeaveRequest(FromRow):
    id: int
    member_pk: int
    member_id: str
    member_name: str
    member_group_id: int | None
    member_group_name: str | None
    activity_pk: int
    activity_id: str
    title: str
    activity_type: str
    activity_group_id: int | None
    start_at: str
    end_at: str
    activity_status: str
    closed_at: str | None
    reason: str
    route: str
    approver_pk: int | None
    state: str
    late: bool
    decided_by: int | None
    decider_name: str | None
    decided_at: str | None
    decision_note: str
    created_by: int | None
    reminded_at: str | None
    escalated_at: str | None
    created_at: str

    COLUMNS: ClassVar[Columns] = {"late": cast("late", bool)}


_REQUESTS = Select(_SELECT, LeaveRequest.from_row)


async def get(conn: aiosqlite.Connection, request_id: int) -> LeaveRequest | None:
    return await _REQUESTS.one(conn, "r.id = ?", request_id)


async def open_for(
    conn: aiosqlite.Connection, member_pk: int, activity_pk: int
) -> LeaveRequest | None:
    """The member's pending or approved request for the activity, if any."""
    return await _REQUESTS.one(
        conn, "r.member_pk = ? AND r.activity_pk = ? AND r.state IN ('pending', 'approved')",
        member_pk, activity_pk,
    )


async def create(
    conn: aiosqlite.Connection,
    *,
    member_pk: int,
    activity_pk: int,
    reason: str,
    route: str,
    approver_pk: int | None,
    late: bool,
    created_by: int,
    now: str,
) -> int | None:
    """Adds a pending request; None when the member already has an open one for the activity."""
    return await new_id_or_none(
        conn,
        "INSERT INTO leave_requests (member_pk, activity_pk, reason, route, approver_pk, late,"
        " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (member_pk, activity_pk, reason, route, approver_pk, int(late), created_by, now, now),
    )


async def decide(
    conn: aiosqlite.Connection,
    request_id: int,
    state: str,
    actor_pk: int,
    note: str,
    now: str,
    *,
    late: bool = False,
) -> bool:
    """Approves or rejects a pending request; False when it is no longer pending."""
    return await changed(
        conn,
        "UPDATE leave_requests SET state = ?, decided_by = ?, decided_at = ?,"
        " decision_note = ?, late = MAX(late, ?), updated_at = ?"
        " WHERE id = ? AND state = 'pending'",
        (state, actor_pk, now, note, int(late), now, request_id),
    )


async def withdraw(
    conn: aiosqlite.Connection, request_id: int, member_pk: int, from_state: str, now: str
) -> bool:
    """Withdraws the member's request if it is still in `from_state`."""
    return await changed(
        conn,
        "UPDATE leave_requests SET state = 'withdrawn', updated_at = ?"
        " WHERE id = ? AND member_pk = ? AND state = ?",
        (now, request_id, member_pk, from_state),
    )


_VOID_ON_CHECKIN = (
    "UPDATE leave_requests SET state = 'void', updated_at = ?"
    " WHERE activity_pk = ? AND member_pk = ? AND state IN ('pending', 'approved') RETURNING id"
)


async def void_on_checkin(
    conn: aiosqlite.Connection, activity_pk: int, member_pk: int, now: str
) -> list[int]:
    """The member checked in after all: their open request for the activity is void (they
    are present, not excused). Returns the ids voided. Called inside the check-in's
    transaction."""
    rows = await conn.execute_fetchall(_VOID_ON_CHECKIN, (now, activity_pk, member_pk))
    return sorted(int(r[0]) for r in rows)


def void_on_checkin_sync(
    conn: sqlite3.Connection, activity_pk: int, member_pk: int, now: str
) -> list[int]:
    """`void_on_checkin` on the plain connection, for the check-in inside `Database.run_tx`."""
    rows = conn.execute(_VOID_ON_CHECKIN, (now, activity_pk, member_pk)).fetchall()
    return sorted(int(r[0]) for r in rows)


# -- the approvers' messages ------------------------------------------------------------------


async def add_notices(
    conn: aiosqlite.Connection, request_id: int, outbox_ids: Iterable[int | None]
) -> None:
    for outbox_id in outbox_ids:
        if outbox_id is not None:
            await conn.execute(
                "INSERT INTO leave_notices (request_id, outbox_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (request_id, outbox_id),
            )


async def notice_targets(
    conn: aiosqlite.Connection, request_id: int
) -> list[tuple[int, int, int | None]]:
    """(outbox id, chat id, member pk) of every message an approver received about it."""
    rows = await conn.execute_fetchall(
        "SELECT o.id, o.chat_id, o.member_pk FROM leave_notices n"
        " JOIN outbox o ON o.id = n.outbox_id WHERE n.request_id = ? ORDER BY o.id",
        (request_id,),
    )
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]


# -- lists --------------------------------------------------------------------------------------


async def for_member(
    conn: aiosqlite.Connection, member_pk: int, limit: int = 20
) -> list[LeaveRequest]:
    """The member's requests, newest activity first."""
    return await _REQUESTS.all(
        conn, "r.member_pk = ? ORDER BY a.start_at DESC, r.id DESC LIMIT ?", member_pk, limit
    )


async def pending_for_leader(conn: aiosqlite.Connection, group_id: int) -> list[LeaveRequest]:
    """Pending requests routed to the leader of the group (scheduled activities only)."""
    return await _REQUESTS.all(
        conn,
        "r.state = 'pending' AND r.route = 'leader' AND a.group_id = ?"
        " AND a.status = 'scheduled' ORDER BY a.start_at, r.id",
        group_id,
    )


async def pending_for_hr(conn: aiosqlite.Connection) -> list[LeaveRequest]:
    """Pending requests waiting for HR: routed to HR, or escalated at the start."""
    return await _REQUESTS.all(
        conn,
        "r.state = 'pending' AND (r.route = 'hr' OR r.escalated_at IS NOT NULL)"
        " AND a.status = 'scheduled' ORDER BY a.start_at, r.id",
    )


async def approved_count(
    conn: aiosqlite.Connection, member_pk: int, start_from: str, start_to: str,
    *, exclude_id: int | None = None,
) -> int:
    """How many approved leaves the member has for activities starting in [from, to)."""
    rows = await conn.execute_fetchall(
        "SELECT COUNT(*) FROM leave_requests r JOIN activities a ON a.id = r.activity_pk"
        " WHERE r.member_pk = ? AND r.state = 'approved' AND a.status = 'scheduled'"
        " AND a.start_at >= ? AND a.start_at < ? AND r.id IS NOT ?",
        (member_pk, start_from, start_to, exclude_id),
    )
    return int(next(iter(rows))[0])


# -- due checks ---------------------------------------------------------------------------------
#
# A pending request is reminded once (`reminded_at`) and escalated once (`escalated_at`); the
# column is one of those two fixed names, never data.


async def _pending_without(
    conn: aiosqlite.Connection, column: str, start_by: str
) -> list[LeaveRequest]:
    """Pending requests whose `column` is not set yet and whose activity starts by `start_by`."""
    return await _REQUESTS.all(
        conn,
        f"r.state = 'pending' AND r.{column} IS NULL"
        " AND a.status = 'scheduled' AND a.start_at <= ? ORDER BY a.start_at, r.id",
        start_by,
    )


async def _mark(conn: aiosqlite.Connection, column: str, request_id: int, now: str) -> bool:
    """Sets `column` of the request to `now`; False when it was already set."""
    return await changed(
        conn,
        f"UPDATE leave_requests SET {column} = ? WHERE id = ? AND {column} IS NULL",
        (now, request_id),
    )


async def reminder_candidates(
    conn: aiosqlite.Connection, start_before: str
) -> list[LeaveRequest]:
    """Pending requests not yet reminded whose activity starts before `start_before`."""
    return await _pending_without(conn, "reminded_at", start_before)


async def mark_reminded(conn: aiosqlite.Connection, request_id: int, now: str) -> bool:
    return await _mark(conn, "reminded_at", request_id, now)


async def escalation_candidates(conn: aiosqlite.Connection, now: str) -> list[LeaveRequest]:
    """Pending requests not yet escalated whose activity has started."""
    return await _pending_without(conn, "escalated_at", now)


async def mark_escalated(conn: aiosqlite.Connection, request_id: int, now: str) -> bool:
    return await _mark(conn, "escalated_at", request_id, now)


# -- export -------------------------------------------------------------------------------------


async def export_rows(
    conn: aiosqlite.Connection,
    start_from: str | None,
    start_to: str | None,
    group_id: int | None,
) -> list[LeaveRequest]:
    """Every request for activities starting in [start_from, start_to), optionally only those
    of one group's members, in the order of the activities (cancelled activities left out)."""
    where = (
        Where("a.status = 'scheduled'")
        .window("a.start_at", start_from, start_to)
        .when(group_id, "m.group_id = ?")
    )
    return await _REQUESTS.all(
        conn, f"{where.sql} ORDER BY a.start_at, a.activity_id, m.member_id, r.id", *where.params
    )
