"""Saved dialog states: a user's half-finished multi-step input (see
storage/migrations/0012_dialogs.sql and bot/core/dialog.py)."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

# (telegram user id, state JSON or None to delete, updated_at)
Write = tuple[int, str | None, str]


async def save(conn: aiosqlite.Connection, writes: Sequence[Write]) -> None:
    """Writes each user's state, or deletes the row when the state is None."""
    upserts = [(uid, state, at) for uid, state, at in writes if state is not None]
    deletes = [(uid,) for uid, state, _ in writes if state is None]
    if upserts:
        await conn.executemany(
            "INSERT INTO dialogs (user_id, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            upserts,
        )
    if deletes:
        await conn.executemany("DELETE FROM dialogs WHERE user_id = ?", deletes)


async def drop_older(conn: aiosqlite.Connection, before: str) -> int:
    """Deletes the rows last written before `before`; returns how many."""
    cur = await conn.execute("DELETE FROM dialogs WHERE updated_at < ?", (before,))
    return cur.rowcount


async def all_rows(conn: aiosqlite.Connection) -> list[tuple[int, str]]:
    """(user id, state JSON) of every row."""
    rows = await conn.execute_fetchall("SELECT user_id, state FROM dialogs ORDER BY user_id")
    return [(int(r[0]), str(r[1])) for r in rows]
