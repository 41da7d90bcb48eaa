"""Invite redemption and the record of code attempts (for the wrong-code limit)."""

from __future__ import annotations

import aiosqlite


async def invite_by_code(conn: aiosqlite.Connection, code: str) -> aiosqlite.Row | None:
    async with conn.execute(
        "SELECT i.member_pk, i.code, i.used_at, m.active, m.telegram_id"
        " FROM invites i JOIN members m ON m.id = i.member_pk WHERE i.code = ?",
        (code,),
    ) as cur:
        return await cur.fetchone()


async def mark_used(conn: aiosqlite.Connection, member_pk: int, telegram_id: int, now: str) -> None:
    await conn.execute(
        "UPDATE invites SET used_at = ?, used_by = ? WHERE member_pk = ?",
        (now, telegram_id, member_pk),
    )


async def record_attempt(conn: aiosqlite.Connection, telegram_id: int, now: str, ok: bool) -> None:
    await conn.execute(
        "INSERT INTO code_attempts (telegram_id, at, ok) VALUES (?, ?, ?)",
        (telegram_id, now, int(ok)),
    )


async def wrong_attempts_since(
    conn: aiosqlite.Connection, telegram_id: int, since: str
) -> list[str]:
    """Times of this user's wrong tries since `since`, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT at FROM code_attempts WHERE telegram_id = ? AND at >= ? AND ok = 0 ORDER BY at",
        (telegram_id, since),
    )
    return [r[0] for r in rows]
