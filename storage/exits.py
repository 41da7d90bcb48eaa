"""The exit rules' inputs (exam results, satisfaction votes, supervision ranks), the exit
proposals HR decides, and the programme years whose credit rule was settled."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

# -- inputs ---------------------------------------------------------------------------------------


async def upsert_exams(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, str, float]], now: str
) -> tuple[int, int]:
    """(member, semester, score) rows; a later import of the same semester replaces the score.
    Returns (added, changed)."""
    added = changed = 0
    for member_pk, semester, score in rows:
        async with conn.execute(
            "SELECT score FROM exam_results WHERE member_pk = ? AND semester = ?",
            (member_pk, semester),
        ) as cur:
            old = await cur.fetchone()
        if old is not None and float(old[0]) == score:
            continue
        await conn.execute(
            "INSERT INTO exam_results (member_pk, semester, score, imported_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (member_pk, semester) DO UPDATE SET score = excluded.score,"
            " imported_at = excluded.imported_at",
            (member_pk, semester, score, now),
        )
        if old is None:
            added += 1
        else:
            changed += 1
    return added, changed


async def upsert_satisfaction(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, int, float]], now: str
) -> tuple[int, int]:
    """(member, year, share) rows; a later import of the same year replaces the share."""
    added = changed = 0
    for member_pk, year, share in rows:
        async with conn.execute(
            "SELECT share FROM satisfaction_votes WHERE member_pk = ? AND year = ?",
            (member_pk, year),
        ) as cur:
            old = await cur.fetchone()
        if old is not None and abs(float(old[0]) - share) < 1e-12:
            continue
        await conn.execute(
            "INSERT INTO satisfaction_votes (member_pk, year, share, imported_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (member_pk, year) DO UPDATE SET"
            " share = excluded.share, imported_at = excluded.imported_at",
            (member_pk, year, share, now),
        )
        if old is None:
            added += 1
        else:
            changed += 1
    return added, changed


async def upsert_supervision(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, str, int, int]], now: str
) -> tuple[int, int]:
    """(member, period, rank, total) rows; a later import of the same period replaces them."""
    added = changed = 0
    for member_pk, period, rank, total in rows:
        async with conn.execute(
            "SELECT rank, total FROM supervision_ranks WHERE member_pk = ? AND period = ?",
            (member_pk, period),
        ) as cur:
            old = await cur.fetchone()
        if old is not None and (int(old[0]), int(old[1])) == (rank, total):
            continue
        await conn.execute(
            "INSERT INTO supervision_ranks (member_pk, period, rank, total, imported_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_pk, period) DO UPDATE SET"
            " rank = excluded.rank, total = excluded.total, imported_at = excluded.imported_at",
            (member_pk, period, rank, total, now),
        )
        if old is None:
            added += 1
        else:
            changed += 1
    return added, changed


async def exam_results(conn: aiosqlite.Connection) -> list[tuple[int, str, float]]:
    rows = await conn.execute_fetchall(
        "SELECT member_pk, semester, score FROM exam_results ORDER BY member_pk, semester"
    )
    return [(int(r[0]), str(r[1]), float(r[2])) for r in rows]


async def satisfaction_votes(conn: aiosqlite.Connection) -> list[tuple[int, int, float]]:
    rows = await conn.execute_fetchall(
        "SELECT member_pk, year, share FROM satisfaction_votes ORDER BY member_pk, year"
    )
    return [(int(r[0]), int(r[1]), float(r[2])) for r in rows]


async def supervision_ranks(conn: aiosqlite.Connection) -> list[tuple[int, str, int, int]]:
    rows = await conn.execute_fetchall(
        "SELECT member_pk, period, rank, total FROM supervision_ranks ORDER BY member_pk, period"
    )
    return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


# -- proposals ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    member_pk: int
    rule: str
    period: str
    evidence: dict[str, Any]
    state: str
    notices: list[int]
    created_at: str
    decided_by: int | None
    decided_at: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Proposal:
        return cls(
            id=row["id"], member_pk=row["member_pk"], rule=row["rule"], period=row["period"],
            evidence=json.loads(row["evidence"]), state=row["state"],
            notices=[int(n) for n in json.loads(row["notices"])], created_at=row["created_at"],
            decided_by=row["decided_by"], decided_at=row["decided_at"],
        )


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


async def proposal(conn: aiosqlite.Connection, proposal_id: int) -> Proposal | None:
    async with conn.execute("SELECT * FROM exit_proposals WHERE id = ?", (proposal_id,)) as cur:
        row = await cur.fetchone()
    return Proposal.from_row(row) if row else None


async def proposal_by_key(
    conn: aiosqlite.Connection, member_pk: int, rule: str, period: str
) -> Proposal | None:
    async with conn.execute(
        "SELECT * FROM exit_proposals WHERE member_pk = ? AND rule = ? AND period = ?",
        (member_pk, rule, period),
    ) as cur:
        row = await cur.fetchone()
    return Proposal.from_row(row) if row else None


async def proposals(
    conn: aiosqlite.Connection, states: tuple[str, ...] = ("open",), *, rules: tuple[str, ...] = ()
) -> list[Proposal]:
    where = [f"state IN ({','.join('?' * len(states))})"]
    params: list[object] = list(states)
    if rules:
        where.append(f"rule IN ({','.join('?' * len(rules))})")
        params.extend(rules)
    rows = await conn.execute_fetchall(
        f"SELECT * FROM exit_proposals WHERE {' AND '.join(where)} ORDER BY created_at, id",
        tuple(params),
    )
    return [Proposal.from_row(r) for r in rows]


async def create_proposal(
    conn: aiosqlite.Connection, member_pk: int, rule: str, period: str,
    evidence: dict[str, Any], now: str,
) -> int | None:
    """A new open proposal; None when one for (member, rule, period) exists in any state."""
    cur = await conn.execute(
        "INSERT INTO exit_proposals (member_pk, rule, period, evidence, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_pk, rule, period) DO NOTHING",
        (member_pk, rule, period, _json(evidence), now),
    )
    return cur.lastrowid if cur.rowcount else None


async def reopen(
    conn: aiosqlite.Connection, proposal_id: int, evidence: dict[str, Any], now: str
) -> bool:
    """A withdrawn proposal whose rule holds again is open again (with the new evidence)."""
    cur = await conn.execute(
        "UPDATE exit_proposals SET state = 'open', evidence = ?, created_at = ?, notices = '[]'"
        " WHERE id = ? AND state = 'withdrawn'",
        (_json(evidence), now, proposal_id),
    )
    return cur.rowcount == 1


async def set_notices(conn: aiosqlite.Connection, proposal_id: int, notices: list[int]) -> None:
    await conn.execute(
        "UPDATE exit_proposals SET notices = ? WHERE id = ?", (_json(notices), proposal_id)
    )


async def decide(
    conn: aiosqlite.Connection, proposal_id: int, state: str, actor_pk: int | None, now: str
) -> bool:
    """Moves an open proposal to `state`; False when it was no longer open."""
    cur = await conn.execute(
        "UPDATE exit_proposals SET state = ?, decided_by = ?, decided_at = ?"
        " WHERE id = ? AND state = 'open'",
        (state, actor_pk, now, proposal_id),
    )
    return cur.rowcount == 1


async def deactivate(conn: aiosqlite.Connection, member_pk: int, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE members SET active = 0, updated_at = ? WHERE id = ? AND active = 1",
        (now, member_pk),
    )
    return cur.rowcount == 1


# -- settled years --------------------------------------------------------------------------------


async def year_closed(conn: aiosqlite.Connection, year: int) -> bool:
    async with conn.execute("SELECT 1 FROM credit_years WHERE year = ?", (year,)) as cur:
        return await cur.fetchone() is not None


async def close_year(conn: aiosqlite.Connection, year: int, line: float, now: str) -> bool:
    cur = await conn.execute(
        "INSERT INTO credit_years (year, line, closed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (year) DO NOTHING",
        (year, line, now),
    )
    return cur.rowcount == 1


async def notice_targets(
    conn: aiosqlite.Connection, outbox_ids: list[int]
) -> list[tuple[int, int, int | None]]:
    """(outbox id, chat id, member pk) of the notices sent, for editing their buttons away."""
    if not outbox_ids:
        return []
    rows = await conn.execute_fetchall(
        f"SELECT id, chat_id, member_pk FROM outbox WHERE id IN ({','.join('?' * len(outbox_ids))})"
        " ORDER BY id",
        tuple(outbox_ids),
    )
    return [(int(r[0]), int(r[1]), None if r[2] is None else int(r[2])) for r in rows]
