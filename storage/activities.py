"""Activities: group study sessions, collective trainings, exams and online sessions.

An activity is `scheduled` or `cancelled`; `closed_at` is set when its roll call closed (the
absentees were recorded). Who takes part follows from the type: a group study's active group
members (leader included); everything else, every active trainee and leader (not HR).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import aiosqlite

from storage import members as members_repo
from storage.attendance import Record
from storage.models import Member
from storage.rows import Columns, FromRow, Select, changed, exists, fetch_in, new_id
from storage.where import Where

PARTICIPANT_ROLES: tuple[str, ...] = ("trainee", "leader")

_SELECT = (
    "SELECT a.*, g.name AS group_name, h.name AS host_name, h.member_id AS host_member_id"
    " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
    " LEFT JOIN members h ON h.id = a.host_pk"
)


@dataclass(frozen=True, slots=True)
class Activity(FromRow):
    pk: int
    activity_id: str
    type: str
    title: str
    group_id: int | None
    group_name: str | None
    start_at: str
    end_at: str
    location: str
    lat: float | None
    lon: float | None
    radius_m: int | None
    host_pk: int | None
    host_name: str | None
    host_member_id: str | None
    status: str
    closed_at: str | None
    secret: str
    source: str

    COLUMNS: ClassVar[Columns] = {"pk": "id"}

    @property
    def has_venue(self) -> bool:
        return self.type != "online"

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


_ACTIVITIES = Select(_SELECT, Activity.from_row)


def takes_part(activity: Activity, member: Member) -> bool:
    """Whether `member` is expected at `activity`."""
    if not member.active or member.role not in PARTICIPANT_ROLES:
        return False
    if activity.type == "group_study":
        return member.group_id is not None and member.group_id == activity.group_id
    return True


async def by_pk(conn: aiosqlite.Connection, pk: int) -> Activity | None:
    return await _ACTIVITIES.one(conn, "a.id = ?", pk)


async def by_activity_id(conn: aiosqlite.Connection, activity_id: str) -> Activity | None:
    return await _ACTIVITIES.one(conn, "a.activity_id = ?", activity_id)


async def by_activity_ids(
    conn: aiosqlite.Connection, activity_ids: Iterable[str]
) -> dict[str, Activity]:
    rows = await fetch_in(
        conn, lambda marks: f"{_SELECT} WHERE a.activity_id IN ({marks})", sorted(set(activity_ids))
    )
    return {r["activity_id"]: Activity.from_row(r) for r in rows}


async def activity_id_taken(conn: aiosqlite.Connection, activity_id: str) -> bool:
    return await exists(conn, "SELECT 1 FROM activities WHERE activity_id = ?", (activity_id,))


async def insert(
    conn: aiosqlite.Connection,
    *,
    activity_id: str,
    type: str,
    title: str,
    group_id: int | None,
    start_at: str,
    end_at: str,
    location: str,
    lat: float | None,
    lon: float | None,
    radius_m: int | None,
    host_pk: int | None,
    secret: str,
    source: str,
    created_by: int | None,
    now: str,
    closed_at: str | None = None,
) -> int:
    return await new_id(
        conn,
        "INSERT INTO activities (activity_id, type, title, group_id, start_at, end_at, location,"
        " lat, lon, radius_m, host_pk, secret, source, created_by, closed_at, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            activity_id, type, title, group_id, start_at, end_at, location, lat, lon, radius_m,
            host_pk, secret, source, created_by, closed_at, now, now,
        ),
    )


async def update_fields(
    conn: aiosqlite.Connection,
    pk: int,
    *,
    type: str,
    title: str,
    group_id: int | None,
    start_at: str,
    end_at: str,
    location: str,
    lat: float | None,
    lon: float | None,
    radius_m: int | None,
    host_pk: int | None,
    now: str,
) -> None:
    await conn.execute(
        "UPDATE activities SET type = ?, title = ?, group_id = ?, start_at = ?, end_at = ?,"
        " location = ?, lat = ?, lon = ?, radius_m = ?, host_pk = ?, updated_at = ?"
        " WHERE id = ?",
        (type, title, group_id, start_at, end_at, location, lat, lon, radius_m, host_pk, now, pk),
    )


async def move(
    conn: aiosqlite.Connection, pk: int, start_at: str, end_at: str, now: str
) -> None:
    await conn.execute(
        "UPDATE activities SET start_at = ?, end_at = ?, updated_at = ? WHERE id = ?",
        (start_at, end_at, now, pk),
    )


async def cancel(conn: aiosqlite.Connection, pk: int, now: str) -> bool:
    return await changed(
        conn,
        "UPDATE activities SET status = 'cancelled', updated_at = ?"
        " WHERE id = ? AND status = 'scheduled'",
        (now, pk),
    )


async def open_around(
    conn: aiosqlite.Connection, now: str, opens_before_limit: str
) -> list[Activity]:
    """Scheduled activities not yet ended that start by `opens_before_limit` (now plus the
    opening lead): the ones whose check-in may be open."""
    return await _ACTIVITIES.all(
        conn,
        "a.status = 'scheduled' AND a.start_at <= ? AND a.end_at > ? ORDER BY a.start_at, a.id",
        opens_before_limit, now,
    )


async def open_around_with_record(
    conn: aiosqlite.Connection, now: str, opens_before_limit: str, member_pk: int
) -> list[tuple[Activity, Record | None]]:
    """`open_around`, each activity with the member's attendance record (or None)."""
    rows = await conn.execute_fetchall(
        "SELECT a.*, g.name AS group_name, h.name AS host_name, h.member_id AS host_member_id,"
        " r.status AS r_status, r.checkin_at AS r_checkin_at, r.checkout_at AS r_checkout_at,"
        " r.note AS r_note, r.source AS r_source"
        " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
        " LEFT JOIN members h ON h.id = a.host_pk"
        " LEFT JOIN attendance r ON r.activity_pk = a.id AND r.member_pk = ?"
        " WHERE a.status = 'scheduled' AND a.start_at <= ? AND a.end_at > ?"
        " ORDER BY a.start_at, a.id",
        (member_pk, opens_before_limit, now),
    )
    out: list[tuple[Activity, Record | None]] = []
    for r in rows:
        record = None
        if r["r_status"] is not None:
            record = Record(
                activity_pk=r["id"], member_pk=member_pk, status=r["r_status"],
                checkin_at=r["r_checkin_at"], checkout_at=r["r_checkout_at"], note=r["r_note"],
                source=r["r_source"],
            )
        out.append((Activity.from_row(r), record))
    return out


async def ended_between(
    conn: aiosqlite.Connection, since: str, until: str
) -> list[Activity]:
    return await _ACTIVITIES.all(
        conn,
        "a.status = 'scheduled' AND a.end_at > ? AND a.end_at <= ? ORDER BY a.end_at DESC, a.id",
        since, until,
    )


async def due_to_close(conn: aiosqlite.Connection, now: str) -> list[Activity]:
    return await _ACTIVITIES.all(
        conn,
        "a.status = 'scheduled' AND a.closed_at IS NULL AND a.end_at <= ? ORDER BY a.end_at, a.id",
        now,
    )


async def mark_closed(conn: aiosqlite.Connection, pk: int, now: str) -> bool:
    """Marks the roll call closed; False when another pass already did."""
    return await changed(
        conn, "UPDATE activities SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (now, pk)
    )


async def participants(conn: aiosqlite.Connection, activity: Activity) -> list[Member]:
    if activity.type != "group_study":
        return await members_repo.participants(conn)
    if activity.group_id is None:  # `m.group_id = NULL` finds nobody
        return []
    return await members_repo.participants(conn, activity.group_id)


async def for_member(
    conn: aiosqlite.Connection,
    member: Member,
    *,
    start_from: str | None = None,
    start_to: str | None = None,
    end_after: str | None = None,
    limit: int = 50,
    newest_first: bool = False,
    include_cancelled: bool = False,
) -> list[Activity]:
    """Activities `member` takes part in (or all, for HR), filtered by time."""
    where = Where() if include_cancelled else Where("a.status = 'scheduled'")
    if not member.is_hr:
        where.add("(a.type <> 'group_study' OR a.group_id = ?)", member.group_id)
    where.window("a.start_at", start_from, start_to).when(end_after, "a.end_at > ?")
    order = "DESC" if newest_first else "ASC"
    return await _ACTIVITIES.all(
        conn, f"{where.sql} ORDER BY a.start_at {order}, a.id LIMIT ?", *where.params, limit
    )


async def started(
    conn: aiosqlite.Connection,
    now: str,
    *,
    group_id: int | None = None,
    limit: int = 10,
    before_start: str | None = None,
) -> list[Activity]:
    """Scheduled activities that have started, newest first; only one group's when given."""
    where = (
        Where("a.status = 'scheduled'")
        .add("a.start_at <= ?", now)
        .when(group_id, "a.type = 'group_study' AND a.group_id = ?")
        .when(before_start, "a.start_at < ?")
    )
    return await _ACTIVITIES.all(
        conn, f"{where.sql} ORDER BY a.start_at DESC, a.id DESC LIMIT ?", *where.params, limit
    )


async def upcoming_for_group(
    conn: aiosqlite.Connection, group_id: int, now: str, limit: int = 10
) -> list[Activity]:
    return await _ACTIVITIES.all(
        conn,
        "a.status = 'scheduled' AND a.type = 'group_study' AND a.group_id = ?"
        " AND a.start_at > ? ORDER BY a.start_at, a.id LIMIT ?",
        group_id, now, limit,
    )


async def upcoming_imported(conn: aiosqlite.Connection, now: str) -> list[Activity]:
    """Scheduled activities from the schedule import that start after `now` (chat-created ones
    are the leaders', not the file's), in time order."""
    return await _ACTIVITIES.all(
        conn,
        "a.status = 'scheduled' AND a.source = 'import' AND a.start_at > ?"
        " ORDER BY a.start_at, a.id",
        now,
    )


async def hosting_history(conn: aiosqlite.Connection, group_id: int) -> list[tuple[int, str]]:
    """(host pk, start) of the group's scheduled group activities, for the rotation."""
    rows = await conn.execute_fetchall(
        "SELECT host_pk, start_at FROM activities WHERE group_id = ? AND type = 'group_study'"
        " AND status = 'scheduled' AND host_pk IS NOT NULL",
        (group_id,),
    )
    return [(int(r["host_pk"]), str(r["start_at"])) for r in rows]


async def group_ids_by_name(conn: aiosqlite.Connection) -> dict[str, int]:
    rows = await conn.execute_fetchall("SELECT id, name FROM groups")
    return {str(r["name"]): int(r["id"]) for r in rows}
