"""Announcements: who wrote what to whom, and how its delivery stands (from the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage import members as members_repo
from storage.models import Member
from storage.rows import fetch_rows, new_id


@dataclass(frozen=True)
class Progress:
    sent: int
    pending: int
    unreachable: int
    failed: int

    @property
    def done(self) -> bool:
        return self.pending == 0


async def audience(
    conn: aiosqlite.Connection, kind: str, group_id: int | None
) -> list[Member]:
    """Active members an announcement goes to (HR included when 'all')."""
    everyone = await members_repo.all_members(conn)
    if kind == "leaders":
        return [m for m in everyone if m.role == "leader"]
    if kind == "group":
        return [m for m in everyone if m.group_id == group_id]
    return everyone


async def create(
    conn: aiosqlite.Connection, *, author_pk: int, kind: str, group_id: int | None, text: str,
    recipients: int, not_registered: int, now: str,
) -> int:
    return await new_id(
        conn,
        "INSERT INTO announcements (author_pk, audience, group_id, text, recipients,"
        " not_registered, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (author_pk, kind, group_id, text, recipients, not_registered, now),
    )


async def set_progress_message(
    conn: aiosqlite.Connection, ann_id: int, chat_id: int, message_id: int
) -> None:
    await conn.execute(
        "UPDATE announcements SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
        (chat_id, message_id, ann_id),
    )


async def progress(conn: aiosqlite.Connection, ann_id: int) -> Progress:
    # Counted per recipient, not per row: a text over Telegram's limit is several outbox rows
    # (bot.delivery.notify.enqueue splits it); a recipient is pending while any part is.
    rows = await conn.execute_fetchall(
        "SELECT CASE WHEN SUM(status = 'pending') > 0 THEN 'pending'"
        " WHEN SUM(status = 'unreachable') > 0 THEN 'unreachable'"
        " WHEN SUM(status = 'failed') > 0 THEN 'failed' ELSE 'sent' END"
        " FROM outbox WHERE kind = ? GROUP BY chat_id",
        (f"announce:{ann_id}",),
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    return Progress(
        sent=counts.get("sent", 0), pending=counts.get("pending", 0),
        unreachable=counts.get("unreachable", 0), failed=counts.get("failed", 0),
    )


async def unfinished(conn: aiosqlite.Connection) -> list[aiosqlite.Row]:
    return await fetch_rows(
        conn,
        "SELECT * FROM announcements WHERE finished_at IS NULL AND progress_message_id IS NOT NULL",
    )


async def finish(conn: aiosqlite.Connection, ann_id: int, now: str) -> None:
    await conn.execute(
        "UPDATE announcements SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
        (now, ann_id),
    )
