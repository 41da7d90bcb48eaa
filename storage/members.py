"""Members and groups: lookups by Telegram id, by group, by role; registration linkage."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import aiosqlite

from storage.models import Member

_SELECT = (
    "SELECT m.*, g.name AS group_name FROM members m LEFT JOIN groups g ON g.id = m.group_id"
)


def _first(rows: Iterable[sqlite3.Row]) -> Member | None:
    for row in rows:
        return Member.from_row(row)
    return None


async def by_telegram_id(conn: aiosqlite.Connection, telegram_id: int) -> Member | None:
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE m.telegram_id = ?", (telegram_id,))
    return _first(rows)


async def by_pk(conn: aiosqlite.Connection, pk: int) -> Member | None:
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE m.id = ?", (pk,))
    return _first(rows)


async def by_member_id(conn: aiosqlite.Connection, member_id: str) -> Member | None:
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE m.member_id = ?", (member_id,))
    return _first(rows)


async def all_members(conn: aiosqlite.Connection, *, active_only: bool = True) -> list[Member]:
    where = "WHERE m.active = 1" if active_only else ""
    rows = await conn.execute_fetchall(f"{_SELECT} {where} ORDER BY m.member_id")
    return [Member.from_row(r) for r in rows]


async def group_leader(conn: aiosqlite.Connection, group_id: int) -> Member | None:
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE m.group_id = ? AND m.role = 'leader' AND m.active = 1 LIMIT 1",
        (group_id,),
    )
    return _first(rows)


async def group_members(conn: aiosqlite.Connection, group_id: int) -> list[Member]:
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE m.group_id = ? AND m.active = 1 ORDER BY m.member_id", (group_id,)
    )
    return [Member.from_row(r) for r in rows]


async def hr_members(conn: aiosqlite.Connection) -> list[Member]:
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE m.role = 'hr' AND m.active = 1 ORDER BY m.member_id"
    )
    return [Member.from_row(r) for r in rows]


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
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE m.active = 1 AND (m.unreachable_at IS NOT NULL OR m.telegram_id IS NULL)"
        " ORDER BY m.member_id"
    )
    return [Member.from_row(r) for r in rows]


async def group_roster(conn: aiosqlite.Connection, group_id: int) -> list[Member]:
    """Everyone ever in the group, inactive members included (for HR's admin menu)."""
    rows = await conn.execute_fetchall(
        f"{_SELECT} WHERE m.group_id = ? ORDER BY m.active DESC, m.role != 'leader', m.member_id",
        (group_id,),
    )
    return [Member.from_row(r) for r in rows]


async def groups(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    rows = await conn.execute_fetchall("SELECT id, name FROM groups ORDER BY name")
    return [(r[0], r[1]) for r in rows]
