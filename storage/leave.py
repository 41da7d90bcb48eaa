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

import aiosqlite

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
class LeaveRequest:
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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> LeaveRequest:
        return cls(
            id=row["id"],
            member_pk=row["member_pk"],
            member_id=row["member_id"],
            member_name=row["member_name"],
            member_group_id=row["member_group_id"],
            member_group_name=row["member_group_name"],
            activity_pk=row["activity_pk"],
            activity_id=row["activity_id"],
            title=row["title"],
            activity_type=row["activity_type"],
            activity_group_id=row["activity_group_id"],
            start_at=row["start_at"],
            end_at=row["end_at"],
            activity_status=row["activity_status"],
            closed_at=row["closed_at"],
            reason=row["reason"],
            route=row["route"],
            approver_pk=row["approver_pk"],
            state=row["state"],
            late=bool(row["late"]),
            decided_by=row["decided_by"],
            decider_name=row["decider_name"],
            decided_at=row["decided_at"],
            decision_note=row["decision_note"],
            created_by=row["created_by"],
            reminded_at=row["reminded_at"],
            escalated_at=row["escalated_at"],
            created_at=row["created_at"],
        )


def _all(rows: Iterable[sqlite3.Row]) -> list[LeaveRequest]:
    return [LeaveRequest.from_row(r) for r in rows]


async def get(conn: aiosqlite.Connection, request_id: int) -> LeaveRequest | None:
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE r.id = ?", (request_id,))
    found = _all(rows)
    return found[0] if found else None


async def open_for(
    conn: aiosqlite.Connection, member_pk: int, activity_pk: int
) -> LeaveRequest | None:
    """The member's pending or approved request for the activity, if any."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.member_pk = ? AND r.activity_pk = ?"
        " AND r.state IN ('pending', 'approved')",
        (member_pk, activity_pk),
    )
    found = _all(rows)
    return found[0] if found else None


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
    cur = await conn.execute(
        "INSERT INTO leave_requests (member_pk, activity_pk, reason, route, approver_pk, late,"
        " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (member_pk, activity_pk, reason, route, approver_pk, int(late), created_by, now, now),
    )
    return cur.lastrowid if cur.rowcount else None


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
    cur = await conn.execute(
        "UPDATE leave_requests SET state = ?, decided_by = ?, decided_at = ?,"
        " decision_note = ?, late = MAX(late, ?), updated_at = ?"
        " WHERE id = ? AND state = 'pending'",
        (state, actor_pk, now, note, int(late), now, request_id),
    )
    return cur.rowcount > 0


async def withdraw(
    conn: aiosqlite.Connection, request_id: int, member_pk: int, from_state: str, now: str
) -> bool:
    """Withdraws the member's request if it is still in `from_state`."""
    cur = await conn.execute(
        "UPDATE leave_requests SET state = 'withdrawn', updated_at = ?"
        " WHERE id = ? AND member_pk = ? AND state = ?",
        (now, request_id, member_pk, from_state),
    )
    return cur.rowcount > 0


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
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.member_pk = ? ORDER BY a.start_at DESC, r.id DESC LIMIT ?",
        (member_pk, limit),
    )
    return _all(rows)


async def pending_for_leader(conn: aiosqlite.Connection, group_id: int) -> list[LeaveRequest]:
    """Pending requests routed to the leader of the group (scheduled activities only)."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.state = 'pending' AND r.route = 'leader' AND a.group_id = ?"
        " AND a.status = 'scheduled' ORDER BY a.start_at, r.id",
        (group_id,),
    )
    return _all(rows)


async def pending_for_hr(conn: aiosqlite.Connection) -> list[LeaveRequest]:
    """Pending requests waiting for HR: routed to HR, or escalated at the start."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.state = 'pending' AND (r.route = 'hr' OR r.escalated_at IS NOT NULL)"
        " AND a.status = 'scheduled' ORDER BY a.start_at, r.id"
    )
    return _all(rows)


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


async def reminder_candidates(
    conn: aiosqlite.Connection, start_before: str
) -> list[LeaveRequest]:
    """Pending requests not yet reminded whose activity starts before `start_before`."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.state = 'pending' AND r.reminded_at IS NULL"
        " AND a.status = 'scheduled' AND a.start_at <= ? ORDER BY a.start_at, r.id",
        (start_before,),
    )
    return _all(rows)


async def mark_reminded(conn: aiosqlite.Connection, request_id: int, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE leave_requests SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL",
        (now, request_id),
    )
    return cur.rowcount > 0


async def escalation_candidates(conn: aiosqlite.Connection, now: str) -> list[LeaveRequest]:
    """Pending requests not yet escalated whose activity has started."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE r.state = 'pending' AND r.escalated_at IS NULL"
        " AND a.status = 'scheduled' AND a.start_at <= ? ORDER BY a.start_at, r.id",
        (now,),
    )
    return _all(rows)


async def mark_escalated(conn: aiosqlite.Connection, request_id: int, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE leave_requests SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL",
        (now, request_id),
    )
    return cur.rowcount > 0


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
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE {where.sql} ORDER BY a.start_at, a.activity_id, m.member_id, r.id",
        tuple(where.params),
    )
    return _all(rows)
