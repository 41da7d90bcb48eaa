"""Members and groups: lookups by Telegram id, by group, by role; registration linkage."""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from storage.models import Member
from storage.rows import Select, fetch_in
from storage.where import Where

_SELECT = (
    "SELECT m.*, g.name AS group_name FROM members m LEFT JOIN groups g ON g.id = m.group_id"
)
_MEMBERS = Select(_SELECT, Member.from_row)


async def by_telegram_id(conn: aiosqlite.Connection, telegram_id: int) -> Member | None:
    return await _MEMBERS.one(conn, "m.telegram_id = ?", telegram_id)


async def by_pk(conn: aiosqlite.Connection, pk: int) -> Member | None:
    return await _MEMBERS.one(conn, "m.id = ?", pk)


async def by_member_id(conn: aiosqlite.Connection, member_id: str) -> Member | None:
    return await _MEMBERS.one(conn, "m.member_id = ?", member_id)


async def by_pks(conn: aiosqlite.Connection, pks: Iterable[int]) -> dict[int, Member]:
    """The members with these pks (inactive ones included), by pk."""
    rows = await fetch_in(
        conn, lambda marks: f"{_SELECT} WHERE m.id IN ({marks})", sorted(set(pks))
    )
    return {int(r["id"]): Member.from_row(r) for r in rows}


async def all_members(conn: aiosqlite.Connection, *, active_only: bool = True) -> list[Member]:
    where = "m.active = 1" if active_only else "1"
    return await _MEMBERS.all(conn, f"{where} ORDER BY m.member_id")


async def participants(conn: aiosqlite.Connection, group_id: int | None = None) -> list[Member]:
    """Active trainees and leaders (who attend activities and earn credits), of one group when
    given."""
    where = Where("m.active = 1", "m.role IN ('trainee', 'leader')")
    where.when(group_id, "m.group_id = ?")
    return await _MEMBERS.all(conn, f"{where.sql} ORDER BY m.member_id", *where.params)


async def group_leader(conn: aiosqlite.Connection, group_id: int) -> Member | None:
    return await _MEMBERS.one(
        conn, "m.group_id = ? AND m.role = 'leader' AND m.active = 1 LIMIT 1", group_id
    )


async def group_members(conn: aiosqlite.Connection, group_id: int) -> list[Member]:
    return await _MEMBERS.all(
        conn, "m.group_id = ? AND m.active = 1 ORDER BY m.member_id", group_id
    )


async def hr_members(conn: aiosqlite.Connection) -> list[Member]:
    return await _MEMBERS.all(conn, "m.role = 'hr' AND m.active = 1 ORDER BY m.member_id")


async def link_telegram(
    conn: aiosqlite.Connection, pk: int, telegram_id: int, language: str, now: str
) -> None:
    await conn.execute(
        "UPDATE members SET telegram_id = ?, language = COALESCE(language, ?),"
        " registered_at = ?, unreachable_at = NULL, unreachable_reason = NULL, updated_at = ?"
        " WHERE id = ?",
        (telegram_id, language, now, now, pk),
    )


async def set_language(conn: aiosqlite.Connection, pk: int, language: str, now: str) -> None:
    await conn.execute(
        "UPDATE members SET language = ?, updated_at = ? WHERE id = ?", (language, now, pk)
    )


async def mark_unreachable(
    conn: aiosqlite.Connection, telegram_id: int, reason: str, now: str
) -> None:
    await conn.execute(
        "UPDATE members SET unreachable_at = ?, unreachable_reason = ? WHERE telegram_id = ?",
        (now, reason, telegram_id),
    )


async def unreachable(conn: aiosqlite.Connection) -> list[Member]:
    return await _MEMBERS.all(
        conn,
        "m.active = 1 AND (m.unreachable_at IS NOT NULL OR m.telegram_id IS NULL)"
        " ORDER BY m.member_id",
    )


async def group_roster(conn: aiosqlite.Connection, group_id: int) -> list[Member]:
    """Everyone ever in the group, inactive members included (for HR's admin menu)."""
    return await _MEMBERS.all(
        conn, "m.group_id = ? ORDER BY m.active DESC, m.role != 'leader', m.member_id", group_id
    )


async def groups(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    rows = await conn.execute_fetchall("SELECT id, name FROM groups ORDER BY name")
    return [(r[0], r[1]) for r in rows]
