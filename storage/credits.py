"""The credit ledger: append-only rows of points with their rule, source and note.

Nothing here updates or deletes a ledger row: a correction is a counter-entry. Totals are sums
(per member and programme year); the reconciliation (bot.credit_sync) reads the sum per
(member, source, year) and appends the difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.models import Member

REVERSED = "reversed: "
_MEMBERS = (
    "SELECT m.*, g.name AS group_name FROM members m LEFT JOIN groups g ON g.id = m.group_id"
)


@dataclass(frozen=True, slots=True)
class NewEntry:
    member_pk: int
    on_date: str
    points: float
    rule: str
    source: str
    note: str
    year: int
    actor_pk: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    member_pk: int
    on_date: str
    points: float
    rule: str
    source: str
    note: str
    actor_pk: int | None
    created_at: str
    year: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"], member_pk=row["member_pk"], on_date=row["on_date"],
            points=float(row["points"]), rule=row["rule"], source=row["source"],
            note=row["note"], actor_pk=row["actor_pk"], created_at=row["created_at"],
            year=row["year"],
        )


async def append(conn: aiosqlite.Connection, entries: Iterable[NewEntry], now: str) -> int:
    """Appends entries; returns how many."""
    rows = [
        (e.member_pk, e.on_date, e.points, e.rule, e.source, e.note, e.actor_pk, now, e.year)
        for e in entries
    ]
    if rows:
        await conn.executemany(
            "INSERT INTO credit_ledger (member_pk, on_date, points, rule, source, note, actor_pk,"
            " created_at, year) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


async def last_entry(
    conn: aiosqlite.Connection, member_pk: int, source: str, year: int
) -> Entry | None:
    """The latest entry of (member, source, year) that is not itself a reversal."""
    async with conn.execute(
        "SELECT * FROM credit_ledger WHERE member_pk = ? AND source = ? AND year = ?"
        " AND note NOT LIKE 'reversed: %' ORDER BY id DESC LIMIT 1",
        (member_pk, source, year),
    ) as cur:
        row = await cur.fetchone()
    return Entry.from_row(row) if row else None


async def totals(conn: aiosqlite.Connection, year: int) -> dict[int, float]:
    """{member: total} of one programme year (members with entries only)."""
    rows = await conn.execute_fetchall(
        "SELECT member_pk, SUM(points) FROM credit_ledger WHERE year = ? GROUP BY member_pk",
        (year,),
    )
    return {int(r[0]): float(r[1]) for r in rows}


async def totals_of(conn: aiosqlite.Connection, member_pk: int, year: int) -> float:
    async with conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM credit_ledger WHERE member_pk = ? AND year = ?",
        (member_pk, year),
    ) as cur:
        row = await cur.fetchone()
    return float(row[0]) if row else 0.0


async def rule_sums(
    conn: aiosqlite.Connection, member_pk: int, year: int
) -> list[tuple[str, float, int]]:
    """(rule, points, entries) of a member's year, reversals netted out."""
    rows = await conn.execute_fetchall(
        "SELECT rule, SUM(points), SUM(CASE WHEN note LIKE 'reversed: %' THEN -1 ELSE 1 END)"
        " FROM credit_ledger WHERE member_pk = ? AND year = ? GROUP BY rule ORDER BY rule",
        (member_pk, year),
    )
    return [(str(r[0]), float(r[1]), int(r[2])) for r in rows]


async def has_entries(conn: aiosqlite.Connection, year: int) -> bool:
    async with conn.execute("SELECT 1 FROM credit_ledger WHERE year = ? LIMIT 1", (year,)) as cur:
        return await cur.fetchone() is not None


async def member_entries(conn: aiosqlite.Connection, member_pk: int, year: int) -> list[Entry]:
    rows = await conn.execute_fetchall(
        "SELECT * FROM credit_ledger WHERE member_pk = ? AND year = ? ORDER BY on_date, id",
        (member_pk, year),
    )
    return [Entry.from_row(r) for r in rows]


async def daily_sums(
    conn: aiosqlite.Connection, member_pks: Sequence[int], year: int
) -> dict[int, list[tuple[str, float]]]:
    """{member: [(date, points that day)...]} in date order, for the given members."""
    out: dict[int, list[tuple[str, float]]] = {pk: [] for pk in member_pks}
    pks = list(member_pks)
    for i in range(0, len(pks), 500):
        chunk = pks[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = await conn.execute_fetchall(
            "SELECT member_pk, on_date, SUM(points) FROM credit_ledger"
            f" WHERE year = ? AND member_pk IN ({marks}) GROUP BY member_pk, on_date"
            " ORDER BY member_pk, on_date",
            (year, *chunk),
        )
        for r in rows:
            out[int(r[0])].append((str(r[1]), float(r[2])))
    return out


async def next_adjust_no(conn: aiosqlite.Connection) -> int:
    """The number of the next hand adjustment (source 'adjust:<n>')."""
    async with conn.execute(
        "SELECT MAX(CAST(substr(source, 8) AS INTEGER)) FROM credit_ledger"
        " WHERE source >= 'adjust:' AND source < 'adjust;'"
    ) as cur:
        row = await cur.fetchone()
    return int(row[0] or 0) + 1 if row else 1


async def export_rows(
    conn: aiosqlite.Connection, date_from: str | None, date_to: str | None,
    group_id: int | None,
) -> list[sqlite3.Row]:
    """Ledger rows with member, group and actor, by date (dates inclusive, local)."""
    where: list[str] = []
    params: list[object] = []
    if date_from is not None:
        where.append("l.on_date >= ?")
        params.append(date_from)
    if date_to is not None:
        where.append("l.on_date <= ?")
        params.append(date_to)
    if group_id is not None:
        where.append("m.group_id = ?")
        params.append(group_id)
    rows = await conn.execute_fetchall(
        "SELECT l.*, m.member_id, m.name, g.name AS group_name, a.name AS actor_name"
        " FROM credit_ledger l JOIN members m ON m.id = l.member_pk"
        " LEFT JOIN groups g ON g.id = m.group_id LEFT JOIN members a ON a.id = l.actor_pk"
        f" WHERE {' AND '.join(where) or '1'} ORDER BY l.on_date, m.member_id, l.id",
        tuple(params),
    )
    return list(rows)


async def table_exists(conn: aiosqlite.Connection, name: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ) as cur:
        return await cur.fetchone() is not None


async def columns(conn: aiosqlite.Connection, table: str) -> set[str]:
    """The column names of `table` (which must be one of ours: it is not a parameter)."""
    if not table.isidentifier():
        raise ValueError(table)
    rows = await conn.execute_fetchall(f"PRAGMA table_info({table})")
    return {str(r[1]) for r in rows}


async def members_by_pk(conn: aiosqlite.Connection, pks: Iterable[int]) -> dict[int, Member]:
    wanted = sorted(set(pks))
    out: dict[int, Member] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        rows = await conn.execute_fetchall(
            f"{_MEMBERS} WHERE m.id IN ({','.join('?' * len(chunk))})", tuple(chunk)
        )
        out.update({int(r["id"]): Member.from_row(r) for r in rows})
    return out


async def ranked_members(
    conn: aiosqlite.Connection, group_id: int | None = None
) -> list[Member]:
    """Active trainees and leaders (who earn credits), of one group when given."""
    sql = f"{_MEMBERS} WHERE m.active = 1 AND m.role IN ('trainee', 'leader')"
    params: tuple[object, ...] = ()
    if group_id is not None:
        sql += " AND m.group_id = ?"
        params = (group_id,)
    rows = await conn.execute_fetchall(sql + " ORDER BY m.member_id", params)
    return [Member.from_row(r) for r in rows]


# -- what the sources hold, compared with the ledger (all in SQL) ------------------------------
#
# The reconciliation fills a temporary table with what every (member, source) should be worth,
# straight from the source tables, then compares it with the ledger's sums per programme year in
# one grouped query: only the differences come back to Python, so a full comparison of a large
# programme costs the database thread, not the event loop. A source table that does not exist
# yet (its feature has not landed) contributes nothing.

REPORT_AUTHOR = ("host_pk", "member_pk", "author_pk", "filed_by")
REPORT_FILED = ("submitted_at", "filed_at")
REPORT_STATE = ("state", "status")
REPORT_NOT_FILED = ("draft", "editing", "pending", "cancelled", "withdrawn", "missing")
REPORT_RECOMMENDED = ("recommended_member_pk", "recommended_pk", "recommend_member_pk")


@dataclass(frozen=True)
class Prices:
    """What each source is worth (from `[credits]`), and how sources are judged."""

    attendance: dict[str, float]  # status -> points
    book: float
    monograph: float
    outputs: dict[str, float]  # paper / reflection / management_analysis -> points
    report_on_time: float
    report_late: float
    hosting: float
    exam_passed: float
    recommended_work: float
    counted_statuses: tuple[str, ...]  # reading submissions that count
    exam_pass_mark: float
    year_starts: str  # MM-DD
    # (UTC time from which, SQLite modifier) of the programme time zone, e.g. ("", "+28800
    # seconds"): local dates are computed in SQL with the offset in force at each moment.
    tz_spans: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Diff:
    """A (member, source, year) whose ledger sum is not what it should be."""

    member_pk: int
    source: str
    year: int
    want: float
    have: float
    on_date: str | None  # these three describe the wanted entry (None when nothing is wanted)
    rule: str | None
    note: str | None


_INTO = "INSERT INTO temp.credit_want (member_pk, source, points, on_date, rule, note) "


def _local_date(column: str) -> str:
    """SQL for the programme-local date of a stored UTC time column (a fixed, trusted name)."""
    return (
        f"date({column}, (SELECT modifier FROM temp.credit_tz WHERE utc_from <= {column}"
        " ORDER BY utc_from DESC LIMIT 1))"
    )


async def _prepare(conn: aiosqlite.Connection, prices: Prices) -> None:
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS credit_tz (utc_from TEXT PRIMARY KEY, modifier TEXT)"
    )
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS credit_want (member_pk INTEGER, source TEXT,"
        " points REAL, on_date TEXT, rule TEXT, note TEXT, year INTEGER)"
    )
    await conn.execute("DELETE FROM temp.credit_tz")
    await conn.executemany("INSERT INTO temp.credit_tz VALUES (?, ?)", prices.tz_spans)
    await conn.execute("DELETE FROM temp.credit_want")


async def _want_attendance(conn: aiosqlite.Connection, p: Prices) -> None:
    if not (await table_exists(conn, "activities") and await table_exists(conn, "attendance")):
        return
    # Each activity's local date once (not once per roll-call record).
    await conn.execute("DROP TABLE IF EXISTS temp.credit_act")
    await conn.execute(
        "CREATE TEMP TABLE credit_act AS SELECT a.id, a.activity_id || ' ' || a.title AS label,"
        f" a.host_pk, a.closed_at, {_local_date('a.start_at')} AS day FROM activities a"
        " WHERE a.status = 'scheduled'"
    )
    statuses = sorted(p.attendance)
    case = " ".join("WHEN ? THEN ?" for _ in statuses)
    params: list[object] = [v for st in statuses for v in (st, p.attendance[st])]
    await conn.execute(
        _INTO + "SELECT r.member_pk, 'attendance:' || r.activity_pk,"
        f" CASE r.status {case} ELSE 0 END AS pts, a.day, 'attendance.' || r.status,"
        " a.label || ': ' || r.status"
        " FROM attendance r JOIN temp.credit_act a ON a.id = r.activity_pk WHERE pts <> 0",
        params,
    )
    # Hosting counts once the activity's roll call has closed (it took place).
    await conn.execute(
        _INTO + "SELECT a.host_pk, 'host:' || a.id, ?, a.day, 'host',"
        " a.label FROM temp.credit_act a"
        " WHERE a.host_pk IS NOT NULL AND a.closed_at IS NOT NULL AND ? <> 0",
        (p.hosting, p.hosting),
    )
    await conn.execute("DROP TABLE temp.credit_act")


async def _want_reading(conn: aiosqlite.Connection, p: Prices) -> None:
    if not await table_exists(conn, "reading_submissions") or not p.counted_statuses:
        return
    kinds = sorted(p.outputs)
    case = " ".join("WHEN ? THEN ?" for _ in kinds)
    marks = ",".join("?" * len(p.counted_statuses))
    params: list[object] = [p.monograph, p.book]
    params += [v for k in kinds for v in (k, p.outputs[k])]
    params += list(p.counted_statuses)
    await conn.execute(
        _INTO + "SELECT s.member_pk, 'reading:' || s.id,"
        " CASE WHEN s.kind = 'book' THEN (CASE WHEN s.monograph THEN ? ELSE ? END)"
        f" ELSE (CASE s.kind {case} ELSE 0 END) END AS pts,"
        f" COALESCE(s.finished_on, {_local_date('s.submitted_at')}),"
        " CASE WHEN s.kind = 'book' AND s.monograph THEN 'reading.monograph'"
        " ELSE 'reading.' || s.kind END, s.kind || ': ' || s.title"
        f" FROM reading_submissions s WHERE s.status IN ({marks}) AND pts <> 0",
        params,
    )


async def _want_reports(conn: aiosqlite.Connection, p: Prices) -> None:
    """Filed activity reports (the host's points) and the work they recommend.

    Counted: a filing time (REPORT_FILED) and a state (REPORT_STATE) not in REPORT_NOT_FILED.
    Late: a `late` column when there is one, else state 'late', else filed after `due_at`.
    Recommended work: a column of REPORT_RECOMMENDED, or a table `report_recommendations`
    (report_pk or report_id, member_pk). Without an author or filing column: skipped.
    """
    if not await table_exists(conn, "reports"):
        return
    cols = await columns(conn, "reports")
    author = next((c for c in REPORT_AUTHOR if c in cols), None)
    filed = next((c for c in REPORT_FILED if c in cols), None)
    if author is None or filed is None:
        return
    # Every column name below comes from the fixed tuples above, never from data.
    state = next((c for c in REPORT_STATE if c in cols), None)
    if "late" in cols:
        late = "r.late"
    elif state is not None:
        late = f"r.{state} = 'late'"
    elif "due_at" in cols:
        late = f"r.{filed} > r.due_at"
    else:
        late = "0"
    where = [f"r.{filed} IS NOT NULL", f"r.{author} IS NOT NULL"]
    params: list[object] = []
    if state is not None:
        where.append(f"COALESCE(r.{state}, '') NOT IN ({','.join('?' * len(REPORT_NOT_FILED))})")
        params += list(REPORT_NOT_FILED)
    filed_reports = f"SELECT * FROM reports r WHERE {' AND '.join(where)}"
    day = _local_date(f"r.{filed}")
    await conn.execute(
        _INTO + f"SELECT r.{author}, 'report:' || r.id,"
        f" CASE WHEN {late} THEN ? ELSE ? END AS pts, {day},"
        f" CASE WHEN {late} THEN 'report.late' ELSE 'report.on_time' END,"
        f" 'report ' || r.id || CASE WHEN {late} THEN ' (late)' ELSE '' END"
        f" FROM ({filed_reports}) r WHERE pts <> 0",
        [p.report_late, p.report_on_time, *params],
    )
    recommended: list[str] = []
    rec_col = next((c for c in REPORT_RECOMMENDED if c in cols), None)
    if rec_col is not None:
        recommended.append(
            f"SELECT r.id AS report_pk, r.{rec_col} AS member_pk, {day} AS day"
            f" FROM ({filed_reports}) r WHERE r.{rec_col} IS NOT NULL"
        )
    if await table_exists(conn, "report_recommendations"):
        rcols = await columns(conn, "report_recommendations")
        ref = next((c for c in ("report_pk", "report_id") if c in rcols), None)
        if ref is not None and "member_pk" in rcols:
            recommended.append(
                f"SELECT r.id, x.member_pk, {day} FROM ({filed_reports}) r"
                f" JOIN report_recommendations x ON x.{ref} = r.id WHERE x.member_pk IS NOT NULL"
            )
    if recommended and p.recommended_work:
        # UNION (not ALL): a member recommended both ways in one report counts once.
        await conn.execute(
            _INTO + "SELECT member_pk, 'recommended:' || report_pk, ?, day,"
            f" 'recommended', 'report ' || report_pk FROM ({' UNION '.join(recommended)})",
            [p.recommended_work, *(params * len(recommended))],
        )


async def _want_exams(conn: aiosqlite.Connection, p: Prices) -> None:
    await conn.execute(
        _INTO + "SELECT member_pk, 'exam:' || semester, ?,"
        f" {_local_date('imported_at')}, 'exam.passed', semester || ': ' || printf('%g', score)"
        " FROM exam_results WHERE score >= ? AND ? <> 0",
        (p.exam_passed, p.exam_pass_mark, p.exam_passed),
    )


async def source_diffs(
    conn: aiosqlite.Connection, prices: Prices, owned: Sequence[str]
) -> list[Diff]:
    """Every (member, source, year) of the `owned` source prefixes whose ledger sum differs
    from what the sources say (by more than 1e-9)."""
    await _prepare(conn, prices)
    await _want_attendance(conn, prices)
    await _want_reading(conn, prices)
    await _want_reports(conn, prices)
    await _want_exams(conn, prices)
    # The programme year of a local date: its calendar year, less one before year_starts.
    await conn.execute(
        "UPDATE temp.credit_want SET year = CAST(substr(on_date, 1, 4) AS INTEGER)"
        " - (substr(on_date, 6, 5) < ?)",
        (prices.year_starts,),
    )
    await conn.execute(
        "CREATE INDEX IF NOT EXISTS temp.credit_want_key ON credit_want (source, member_pk, year)"
    )
    owned_sql = " OR ".join("(l.source >= ? AND l.source < ?)" for _ in owned)
    ranges: list[object] = []
    for prefix in owned:
        ranges += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
    # Wanted vs held (the ledger side by its covering index), then held but no longer wanted.
    rows = list(await conn.execute_fetchall(
        "SELECT w.member_pk, w.source, w.year, w.points, COALESCE((SELECT SUM(l.points)"
        " FROM credit_ledger l WHERE l.source = w.source AND l.member_pk = w.member_pk"
        " AND l.year = w.year), 0.0) AS held, w.on_date, w.rule, w.note"
        " FROM temp.credit_want w WHERE abs(w.points - held) > 1e-9"
    ))
    rows += await conn.execute_fetchall(
        "SELECT l.member_pk, l.source, l.year, 0.0, SUM(l.points) AS held, NULL, NULL, NULL"
        f" FROM credit_ledger l WHERE ({owned_sql}) AND NOT EXISTS (SELECT 1 FROM"
        " temp.credit_want w WHERE w.source = l.source AND w.member_pk = l.member_pk"
        " AND w.year = l.year) GROUP BY l.source, l.member_pk, l.year"
        " HAVING abs(held) > 1e-9",
        ranges,
    )
    await conn.execute("DELETE FROM temp.credit_want")
    return [
        Diff(int(r[0]), str(r[1]), int(r[2]), float(r[3]), float(r[4]), r[5], r[6], r[7])
        for r in rows
    ]


async def exam_results(conn: aiosqlite.Connection) -> list[tuple[int, str, float, str]]:
    """(member, semester, score, imported_at) of every exam result."""
    rows = await conn.execute_fetchall(
        "SELECT member_pk, semester, score, imported_at FROM exam_results"
    )
    return [(int(r[0]), str(r[1]), float(r[2]), str(r[3])) for r in rows]
