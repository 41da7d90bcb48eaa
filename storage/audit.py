"""The audit log: who changed what, when, from what to what, and why."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite

from storage.rows import fetch_rows


def _json(data: Mapping[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, ensure_ascii=False, sort_keys=True)


async def record(
    conn: aiosqlite.Connection,
    *,
    at: str,
    actor_pk: int | None,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor_pk, action, subject, before, after, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, actor_pk, action, subject, _json(before), _json(after), reason),
    )


async def for_subject(conn: aiosqlite.Connection, subject: str) -> list[aiosqlite.Row]:
    return await fetch_rows(
        conn, "SELECT * FROM audit_log WHERE subject = ? ORDER BY id", (subject,)
    )
