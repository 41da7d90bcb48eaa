"""The inbox: updates received but not yet handled, and the getUpdates offset that goes with
them (see storage/migrations/0009_inbox.sql)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class InboxRow:
    update_id: int
    payload: str
    attempts: int


async def add(
    conn: aiosqlite.Connection, rows: Sequence[tuple[int, str]], now: str
) -> None:
    """Stores (update_id, payload) rows (at most 100: one getUpdates batch) in one statement;
    one already present is left as it is."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO inbox (update_id, payload, received_at) VALUES "
        + ", ".join(["(?, ?, ?)"] * len(rows))
        + " ON CONFLICT (update_id) DO NOTHING",
        [v for update_id, payload in rows for v in (update_id, payload, now)],
    )


async def add_one(conn: aiosqlite.Connection, update_id: int, payload: str, now: str) -> bool:
    """Stores one update; False when it is already there (a repeated webhook delivery)."""
    cur = await conn.execute(
        "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
        " ON CONFLICT (update_id) DO NOTHING",
        (update_id, payload, now),
    )
    return cur.rowcount == 1


async def set_offset(conn: aiosqlite.Connection, next_update_id: int, now: str) -> None:
    await conn.execute(
        "INSERT INTO inbox_offset (id, next_update_id, updated_at) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET next_update_id = excluded.next_update_id,"
        " updated_at = excluded.updated_at",
        (next_update_id, now),
    )


async def offset(conn: aiosqlite.Connection) -> tuple[int, str] | None:
    """(next update_id, when it was written), or None before the first batch."""
    rows = await conn.execute_fetchall(
        "SELECT next_update_id, updated_at FROM inbox_offset WHERE id = 1")
    for row in rows:
        return int(row[0]), str(row[1])
    return None


async def unfinished(conn: aiosqlite.Connection) -> list[InboxRow]:
    """Every row still here, oldest update first."""
    rows = await conn.execute_fetchall(
        "SELECT update_id, payload, attempts FROM inbox ORDER BY update_id")
    return [InboxRow(int(r[0]), str(r[1]), int(r[2])) for r in rows]


async def count_attempt(conn: aiosqlite.Connection, update_ids: Iterable[int]) -> None:
    await conn.executemany(
        "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?",
        [(i,) for i in update_ids],
    )


async def delete(conn: aiosqlite.Connection, update_ids: Sequence[int]) -> None:
    """Deletes in statements of up to 500 rows, each atomic on its own (callers need no
    transaction: a row left by a failure is only replayed)."""
    for start in range(0, len(update_ids), 500):
        chunk = list(update_ids[start:start + 500])
        await conn.execute(
            f"DELETE FROM inbox WHERE update_id IN ({', '.join('?' * len(chunk))})", chunk)
