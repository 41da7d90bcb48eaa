"""The exit rules' inputs (exam results, satisfaction votes, supervision ranks), the exit
proposals HR decides, and the programme years whose credit rule was settled (decided: their
totals are frozen, see storage.credits.compare)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import aiosqlite

from storage.rows import Columns, FromRow, Select, cast, changed, exists, fetch_one, new_id_or_none
from storage.where import Where

# -- inputs ---------------------------------------------------------------------------------------


async def _import(
    conn: aiosqlite.Connection,
    rows: Iterable[tuple[Any, ...]],
    now: str,
    *,
    select: str,
    upsert: str,
    same: Callable[[tuple[Any, ...], tuple[Any, ...]], bool],
) -> tuple[int, int]:
    """Rows of (member, key, values...): `select` reads the stored values of (member, key);
    a row without any, or whose values are not the `same`, goes through `upsert` with `now`.
    Returns (added, changed)."""
    added = updated = 0
    for row in rows:
        old = await fetch_one(conn, select, row[:2], tuple)
        if old is not None and same(old, row[2:]):
            continue
        await conn.execute(upsert, (*row, now))
        if old is None:
            added += 1
        else:
            updated += 1
    return added, updated


async def upsert_exams(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, str, float]], now: str
) -> tuple[int, int]:
    """(member, semester, score) rows; a later import of the same semester replaces the score.
    Returns (added, changed)."""
    return await _import(
        conn, rows, now,
        select="SELECT score FROM exam_results WHERE member_pk = ? AND semester = ?",
        upsert="INSERT INTO exam_results (member_pk, semester, score, imported_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (member_pk, semester) DO UPDATE SET"
        " score = excluded.score, imported_at = excluded.imported_at",
        same=lambda old, new: float(old[0]) == new[0],
    )


async def upsert_satisfaction(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, int, float]], now: str
) -> tuple[int, int]:
    """(member, year, share) rows; a later import of the same year replaces the share."""
    return await _import(
        conn, rows, now,
        select="SELECT share FROM satisfaction_votes WHERE member_pk = ? AND year = ?",
        upsert="INSERT INTO satisfaction_votes (member_pk, year, share, imported_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (member_pk, year) DO UPDATE SET"
        " share = excluded.share, imported_at = excluded.imported_at",
        same=lambda old, new: abs(float(old[0]) - new[0]) < 1e-12,
    )


async def upsert_supervision(
    conn: aiosqlite.Connection, rows: Iterable[tuple[int, str, int, int]], now: str
) -> tuple[int, int]:
    """(member, period, rank, total) rows; a later import of the same period replaces them."""
    return await _import(
        conn, rows, now,
        select="SELECT rank, total FROM supervision_ranks WHERE member_pk = ? AND period = ?",
        upsert="INSERT INTO supervision_ranks (member_pk, period, rank, total, imported_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_pk, period) DO UPDATE SET"
        " rank = excluded.rank, total = excluded.total, imported_at = excluded.imported_at",
        same=lambda old, new: (int(old[0]), int(old[1])) == new,
    )


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
class Proposal(FromRow):
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
    # When a re-evaluation before the year was decided changed the evidence (None: never).
    evidence_changed_at: str | None = None

    COLUMNS: ClassVar[Columns] = {
        "evidence": cast("evidence", json.loads),
        "notices": cast("notices", lambda text: [int(n) for n in json.loads(text)]),
    }


_PROPOSALS = Select("SELECT * FROM exit_proposals", Proposal.from_row)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


async def proposal(conn: aiosqlite.Connection, proposal_id: int) -> Proposal | None:
    return await _PROPOSALS.one(conn, "id = ?", proposal_id)


async def proposal_by_key(
    conn: aiosqlite.Connection, member_pk: int, rule: str, period: str
) -> Proposal | None:
    return await _PROPOSALS.one(
        conn, "member_pk = ? AND rule = ? AND period = ?", member_pk, rule, period
    )


async def proposals(
    conn: aiosqlite.Connection, states: tuple[str, ...] = ("open",), *, rules: tuple[str, ...] = (),
    period: str | None = None,
) -> list[Proposal]:
    where = Where().among("state", states)
    if rules:
        where.among("rule", rules)
    where.when(period, "period = ?")
    return await _PROPOSALS.all(conn, f"{where.sql} ORDER BY created_at, id", *where.params)


async def create_proposal(
    conn: aiosqlite.Connection, member_pk: int, rule: str, period: str,
    evidence: dict[str, Any], now: str,
) -> int | None:
    """A new open proposal; None when one for (member, rule, period) exists in any state."""
    return await new_id_or_none(
        conn,
        "INSERT INTO exit_proposals (member_pk, rule, period, evidence, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_pk, rule, period) DO NOTHING",
        (member_pk, rule, period, _json(evidence), now),
    )


async def reopen(
    conn: aiosqlite.Connection, proposal_id: int, evidence: dict[str, Any], now: str
) -> bool:
    """A withdrawn proposal whose rule holds again is open again (with the new evidence)."""
    return await changed(
        conn,
        "UPDATE exit_proposals SET state = 'open', evidence = ?, created_at = ?, notices = '[]',"
        " evidence_changed_at = NULL"
        " WHERE id = ? AND state = 'withdrawn'",
        (_json(evidence), now, proposal_id),
    )


async def update_evidence(
    conn: aiosqlite.Connection, proposal_id: int, evidence: dict[str, Any], now: str
) -> bool:
    """An open proposal's finding still holds on changed evidence: the new evidence, and when
    it changed. False when it was no longer open or the evidence is the same."""
    return await changed(
        conn,
        "UPDATE exit_proposals SET evidence = ?, evidence_changed_at = ?"
        " WHERE id = ? AND state = 'open' AND evidence <> ?",
        (_json(evidence), now, proposal_id, _json(evidence)),
    )


async def set_notices(conn: aiosqlite.Connection, proposal_id: int, notices: list[int]) -> None:
    await conn.execute(
        "UPDATE exit_proposals SET notices = ? WHERE id = ?", (_json(notices), proposal_id)
    )


async def decide(
    conn: aiosqlite.Connection, proposal_id: int, state: str, actor_pk: int | None, now: str
) -> bool:
    """Moves an open proposal to `state`; False when it was no longer open."""
    return await changed(
        conn,
        "UPDATE exit_proposals SET state = ?, decided_by = ?, decided_at = ?"
        " WHERE id = ? AND state = 'open'",
        (state, actor_pk, now, proposal_id),
    )


async def deactivate(conn: aiosqlite.Connection, member_pk: int, now: str) -> bool:
    return await changed(
        conn,
        "UPDATE members SET active = 0, updated_at = ? WHERE id = ? AND active = 1",
        (now, member_pk),
    )


# -- settled years --------------------------------------------------------------------------------


async def year_closed(conn: aiosqlite.Connection, year: int) -> bool:
    return await exists(conn, "SELECT 1 FROM credit_years WHERE year = ?", (year,))


async def closed_years(conn: aiosqlite.Connection) -> dict[int, str]:
    """{year: when it was decided} of every decided programme year."""
    rows = await conn.execute_fetchall("SELECT year, closed_at FROM credit_years")
    return {int(r[0]): str(r[1]) for r in rows}


async def close_year(conn: aiosqlite.Connection, year: int, line: float, now: str) -> bool:
    return await changed(
        conn,
        "INSERT INTO credit_years (year, line, closed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (year) DO NOTHING",
        (year, line, now),
    )


async def pending_notice_to(
    conn: aiosqlite.Connection, outbox_ids: list[int], chat_id: int
) -> bool:
    """Whether one of these notices to `chat_id` is still waiting to be sent."""
    if not outbox_ids:
        return False
    return await exists(
        conn,
        f"SELECT 1 FROM outbox WHERE id IN ({','.join('?' * len(outbox_ids))})"
        " AND chat_id = ? AND status = 'pending' LIMIT 1",
        (*outbox_ids, chat_id),
    )


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
