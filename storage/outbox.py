"""The outbox: notifications written in the same transaction as the change that causes them.

A row is `pending` until the sender delivers it (`sent`), gives up (`failed`) or finds the
recipient has blocked the bot (`unreachable`). A row marked sent is never picked again.

A sender takes the rows it will send with `claim`: one UPDATE writes its token and a lease on
them and returns them, so of two senders racing on one database each row goes to one only
(migration 0014). Marking a row sent, retried or final clears its claim; `release` clears what
a pass did not get to, `renew` extends the lease of a long pass, and a claim whose lease ran
out (its sender died) is taken by the next `claim`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Required, TypedDict, Unpack

import aiosqlite

from storage.rows import Columns, FromRow, cast, fetch_all, fetch_value
from storage.where import Where


@dataclass(frozen=True, slots=True)
class OutboxRow(FromRow):
    id: int
    chat_id: int
    member_pk: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int

    COLUMNS: ClassVar[Columns] = {"payload": cast("payload", json.loads)}


class Envelope(TypedDict, total=False):
    """Where and when a notification goes: what `enqueue`, here and in bot.delivery.notify,
    hands on to `enqueue_parts` as it is."""

    chat_id: Required[int]
    kind: Required[str]
    now: Required[str]
    member_pk: int | None
    not_before: str | None
    dedupe_key: str | None


async def enqueue(
    conn: aiosqlite.Connection, *, payload: dict[str, Any], **envelope: Unpack[Envelope]
) -> int | None:
    """Adds a notification; with a dedupe_key already present, adds nothing and returns None.
    The payload goes as it is: the bot queues through bot.delivery.notify.enqueue, which cuts what
    is over Telegram's limits into parts first."""
    return await enqueue_parts(conn, parts=[payload], **envelope)


async def enqueue_parts(
    conn: aiosqlite.Connection,
    *,
    chat_id: int,
    kind: str,
    parts: Sequence[dict[str, Any]],
    now: str,
    member_pk: int | None = None,
    not_before: str | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Adds one notification sent as several messages (`parts`, in order): one row each,
    inserted one after the other with the same not_before, so the sender (a chat's rows in
    (not_before, id) order) delivers them in order. Part 1 keeps `dedupe_key`, part n gets
    f"{dedupe_key}#{n}"; when part 1 is already there nothing is added (None). Returns the id
    of the last part: the message carrying the buttons, which a later `edit_of` must target.
    """
    last: int | None = None
    for n, part in enumerate(parts, start=1):
        key = dedupe_key if dedupe_key is None or n == 1 else f"{dedupe_key}#{n}"
        cur = await conn.execute(
            "INSERT INTO outbox"
            " (chat_id, member_pk, kind, payload, dedupe_key, not_before, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            (
                chat_id,
                member_pk,
                kind,
                json.dumps(part, ensure_ascii=False),
                key,
                not_before or now,
                now,
            ),
        )
        if not cur.rowcount:
            if n == 1:
                return None
            continue
        last = cur.lastrowid
    return last


async def due(conn: aiosqlite.Connection, now: str, limit: int = 200) -> list[OutboxRow]:
    return await fetch_all(
        conn,
        "SELECT id, chat_id, member_pk, kind, payload, attempts FROM outbox"
        " WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
        (now, limit),
        OutboxRow.from_row,
    )


async def claim(
    conn: aiosqlite.Connection, token: str, now: str, until: str, limit: int = 1000
) -> list[OutboxRow]:
    """Claims for `token` (lease until `until`) the rows due at `now`, in the sender's
    (not_before, id) order, and returns them in that order. A row is taken only if nobody
    holds a live claim on it, and a chat only if nobody holds one on any of its pending rows:
    a chat's rows go out from one sender at a time, so in order. One statement, so two senders
    never take the same row."""
    found = await conn.execute_fetchall(
        "UPDATE outbox SET claim_token = ?, claimed_until = ?"
        " WHERE id IN (SELECT o.id FROM outbox AS o"
        " WHERE o.status = 'pending' AND o.not_before <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox AS c WHERE c.chat_id = o.chat_id"
        " AND c.status = 'pending' AND c.claimed_until > ?)"
        " ORDER BY o.not_before, o.id LIMIT ?)"
        " AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?)"
        " RETURNING id, chat_id, member_pk, kind, payload, attempts, not_before",
        (token, until, now, now, limit, now),
    )
    # RETURNING comes in no promised order.
    return [OutboxRow.from_row(r) for r in sorted(found, key=lambda r: (r["not_before"], r["id"]))]


async def renew(conn: aiosqlite.Connection, token: str, until: str) -> None:
    """Extends the lease of the rows `token` still holds."""
    await conn.execute(
        "UPDATE outbox SET claimed_until = ? WHERE status = 'pending' AND claim_token = ?",
        (until, token),
    )


async def release(conn: aiosqlite.Connection, token: str | None = None) -> int:
    """Lets go of the rows `token` still holds (None: of every claim, whoever made it: for the
    database's one instance at its start, when every claim is a dead process's). Returns how
    many."""
    cur = await conn.execute(
        "UPDATE outbox SET claim_token = NULL, claimed_until = NULL"
        " WHERE status = 'pending' AND claim_token IS NOT NULL"
        + ("" if token is None else " AND claim_token = ?"),
        () if token is None else (token,),
    )
    return cur.rowcount


async def next_due_at(conn: aiosqlite.Connection) -> str | None:
    due_at: str | None = await fetch_value(
        conn, "SELECT MIN(not_before) FROM outbox WHERE status = 'pending'"
    )
    return due_at


async def mark_sent(
    conn: aiosqlite.Connection, row_id: int, now: str, message_id: int | None
) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, attempts = attempts + 1,"
        " claim_token = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'",
        (now, message_id, row_id),
    )


async def reschedule(
    conn: aiosqlite.Connection, row_id: int, not_before: str, error: str, *, count: bool = True
) -> None:
    """Tries the row again at `not_before`. The chat's later pending rows (in the sender's
    (not_before, id) order) due before then wait with it, so a retried row is not overtaken by
    the next message to the same chat (e.g. part 2 of a split text by part 3)."""
    await conn.execute(
        "UPDATE outbox SET not_before = ?"
        " WHERE status = 'pending' AND not_before < ?"
        " AND chat_id = (SELECT chat_id FROM outbox WHERE id = ?)"
        " AND (not_before, id) > (SELECT not_before, id FROM outbox WHERE id = ?)",
        (not_before, not_before, row_id, row_id),
    )
    await conn.execute(
        "UPDATE outbox SET not_before = ?, last_error = ?, attempts = attempts + ?,"
        " claim_token = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'",
        (not_before, error[:500], 1 if count else 0, row_id),
    )


async def mark_final(conn: aiosqlite.Connection, row_id: int, status: str, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = ?, last_error = ?, attempts = attempts + 1,"
        " claim_token = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'",
        (status, error[:500], row_id),
    )


async def counts(conn: aiosqlite.Connection, kind: str | None = None) -> dict[str, int]:
    where = Where().when(kind or None, "kind = ?")
    rows = await conn.execute_fetchall(
        f"SELECT status, COUNT(*) FROM outbox WHERE {where.sql} GROUP BY status",
        tuple(where.params),
    )
    return {r[0]: r[1] for r in rows}
