"""The credit ledger: append-only rows of points with their rule, source and note.

Nothing here updates or deletes a ledger row: a correction is a counter-entry. Totals are sums
(per member and programme year); the reconciliation (bot.credits.sync) reads the sum per
(member, source, year) and appends the difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import aiosqlite

from storage import members as members_repo
from storage.models import Member
from storage.rows import (
    Columns,
    FromRow,
    Select,
    cast,
    exists,
    fetch_in,
    fetch_rows,
    fetch_value,
    table_exists,
)
from storage.where import Where

REVERSED = "reversed: "


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
class Entry(FromRow):
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

    COLUMNS: ClassVar[Columns] = {"points": cast("points", float)}


_ENTRIES = Select("SELECT * FROM credit_ledger", Entry.from_row)


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
    return await _ENTRIES.one(
        conn,
        "member_pk = ? AND source = ? AND year = ? AND note NOT LIKE 'reversed: %'"
        " ORDER BY id DESC LIMIT 1",
        member_pk, source, year,
    )


async def totals(conn: aiosqlite.Connection, year: int) -> dict[int, float]:
    """{member: total} of one programme year (members with entries only)."""
    rows = await conn.execute_fetchall(
        "SELECT member_pk, SUM(points) FROM credit_ledger WHERE year = ? GROUP BY member_pk",
        (year,),
    )
    return {int(r[0]): float(r[1]) for r in rows}


async def totals_of(conn: aiosqlite.Connection, member_pk: int, year: int) -> float:
    return float(await fetch_value(
        conn,
        "SELECT COALESCE(SUM(points), 0) FROM credit_ledger WHERE member_pk = ? AND year = ?",
        (member_pk, year),
    ) or 0.0)


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
    return await exists(conn, "SELECT 1 FROM credit_ledger WHERE year = ? LIMIT 1", (year,))


async def member_entries(conn: aiosqlite.Connection, member_pk: int, year: int) -> list[Entry]:
    return await _ENTRIES.all(
        conn, "member_pk = ? AND year = ? ORDER BY on_date, id", member_pk, year
    )


async def daily_sums(
    conn: aiosqlite.Connection, member_pks: Sequence[int], year: int
) -> dict[int, list[tuple[str, float]]]:
    """{member: [(date, points that day)...]} in date order, for the given members."""
    out: dict[int, list[tuple[str, float]]] = {pk: [] for pk in member_pks}
    rows = await fetch_in(
        conn,
        lambda marks: "SELECT member_pk, on_date, SUM(points) FROM credit_ledger"
        f" WHERE year = ? AND member_pk IN ({marks}) GROUP BY member_pk, on_date"
        " ORDER BY member_pk, on_date",
        list(member_pks),
        year,
    )
    for r in rows:
        out[int(r[0])].append((str(r[1]), float(r[2])))
    return out


async def next_adjust_no(conn: aiosqlite.Connection) -> int:
    """The number of the next hand adjustment (source 'adjust:<n>')."""
    highest = await fetch_value(
        conn,
        "SELECT MAX(CAST(substr(source, 8) AS INTEGER)) FROM credit_ledger"
        " WHERE source >= 'adjust:' AND source < 'adjust;'",
    )
    return int(highest or 0) + 1


async def export_rows(
    conn: aiosqlite.Connection, date_from: str | None, date_to: str | None,
    group_id: int | None,
) -> list[sqlite3.Row]:
    """Ledger rows with member, group and actor, by date (dates inclusive, local)."""
    where = (
        Where()
        .when(date_from, "l.on_date >= ?")
        .when(date_to, "l.on_date <= ?")
        .when(group_id, "m.group_id = ?")
    )
    return await fetch_rows(
        conn,
        "SELECT l.*, m.member_id, m.name, g.name AS group_name, a.name AS actor_name"
        " FROM credit_ledger l JOIN members m ON m.id = l.member_pk"
        " LEFT JOIN groups g ON g.id = m.group_id LEFT JOIN members a ON a.id = l.actor_pk"
        f" WHERE {where.sql} ORDER BY l.on_date, m.member_id, l.id",
        where.params,
    )


async def columns(conn: aiosqlite.Connection, table: str) -> set[str]:
    """The column names of `table` (which must be one of ours: it is not a parameter)."""
    if not table.isidentifier():
        raise ValueError(table)
    rows = await conn.execute_fetchall(f"PRAGMA table_info({table})")
    return {str(r[1]) for r in rows}


async def members_by_pk(conn: aiosqlite.Connection, pks: Iterable[int]) -> dict[int, Member]:
    return await members_repo.by_pks(conn, pks)


async def joined_on(conn: aiosqlite.Connection, pks: Iterable[int]) -> dict[int, str]:
    """{member: the UTC time they were added to the roster} (the programme's joining day)."""
    rows = await fetch_in(
        conn, lambda marks: f"SELECT id, created_at FROM members WHERE id IN ({marks})",
        list(pks),
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def ranked_members(
    conn: aiosqlite.Connection, group_id: int | None = None
) -> list[Member]:
    """Active trainees and leaders (who earn credits), of one group when given."""
    return await members_repo.participants(conn, group_id)


# -- what the sources hold, compared with the ledger (all in SQL) ------------------------------
#
# The reconciliation fills a temporary table with what (member, source) pairs should be worth,
# straight from the source tables, compares it with the ledger's sums per programme year into
# a temporary table of differences, and appends the rows that settle them (book) — all in SQL.
# Temporary tables live in SQLite's temp file, not in this process's memory, and no row comes
# back to Python, so even the first comparison of a large programme (every pair differs) costs
# the database thread, not the event loop or the heap.
#
# Two extents: every pair (`scoped=False`, the full comparison), or only the pairs in
# temp.credit_scope — what the triggers of migration 0010 marked in `credit_dirty` since the
# last sync (take_changes). A scope row (source, member) names one member's part of a source;
# member 0 stands for every member of it. Pairs outside the scope were settled by an earlier
# sync and no source of theirs changed since, so comparing them would find nothing.
# A source table that does not exist yet (its feature has not landed) contributes nothing.

# Roll-call statuses of a member who was there (the activity took place).
THERE = ("present", "late", "early_leave")

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


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the last sync left behind."""

    rules: str | None  # the fingerprint of the last full comparison (None: never made)
    changed: bool  # a source changed since (credit_dirty holds a mark)
    schema: int  # the schema version now


async def sync_state(conn: aiosqlite.Connection) -> SyncState:
    """One round trip: the stored fingerprint, whether anything is marked, the schema version."""
    rows = await conn.execute_fetchall(
        "SELECT (SELECT rules FROM credit_sync_state WHERE id = 1),"
        " EXISTS (SELECT 1 FROM credit_dirty),"
        " (SELECT MAX(version) FROM schema_migrations)"
    )
    row = next(iter(rows))
    return SyncState(row[0], bool(row[1]), int(row[2] or 0))


async def save_sync_state(conn: aiosqlite.Connection, rules: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO credit_sync_state (id, rules, synced_at) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, synced_at = excluded.synced_at",
        (rules, now),
    )


async def temp_tables(conn: aiosqlite.Connection) -> None:
    """The connection's temporary tables of the comparison (made once per connection)."""
    for ddl in (
        "CREATE TEMP TABLE IF NOT EXISTS credit_tz (utc_from TEXT PRIMARY KEY, modifier TEXT)",
        "CREATE TEMP TABLE IF NOT EXISTS credit_want (member_pk INTEGER, source TEXT,"
        " points REAL, on_date TEXT, rule TEXT, note TEXT, year INTEGER)",
        "CREATE INDEX IF NOT EXISTS temp.credit_want_key ON credit_want (source, member_pk, year)",
        "CREATE TEMP TABLE IF NOT EXISTS credit_diff (ord INTEGER PRIMARY KEY,"
        " member_pk INTEGER, source TEXT, year INTEGER, want REAL, have REAL, on_date TEXT,"
        " rule TEXT, note TEXT, last_id INTEGER)",
        "CREATE TEMP TABLE IF NOT EXISTS credit_scope (source TEXT NOT NULL,"
        " member_pk INTEGER NOT NULL, prefix TEXT NOT NULL, ref NOT NULL,"
        " PRIMARY KEY (source, member_pk)) WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS temp.credit_scope_ref ON credit_scope (prefix, ref)",
        # Each activity's label and local date once (not once per roll-call record).
        "CREATE TEMP TABLE IF NOT EXISTS credit_act (id INTEGER PRIMARY KEY, label TEXT,"
        " host_pk INTEGER, closed_at TEXT, day TEXT)",
    ):
        await conn.execute(ddl)


async def _prepare(conn: aiosqlite.Connection, prices: Prices) -> None:
    await temp_tables(conn)
    await conn.execute("DELETE FROM temp.credit_tz")
    await conn.executemany("INSERT INTO temp.credit_tz VALUES (?, ?)", prices.tz_spans)
    await conn.execute("DELETE FROM temp.credit_want")
    await conn.execute("DELETE FROM temp.credit_diff")


async def take_changes(conn: aiosqlite.Connection, owned: Sequence[str]) -> int:
    """Moves the marks of `credit_dirty` (of the `owned` prefixes) into the scope of the next
    scoped comparison and empties `credit_dirty`; returns how many pairs are in scope. Call
    inside the write transaction that appends the differences."""
    await temp_tables(conn)
    await conn.execute("DELETE FROM temp.credit_scope")
    marks = ",".join("?" * len(owned))
    await conn.execute(
        "INSERT OR IGNORE INTO temp.credit_scope (source, member_pk, prefix, ref)"
        " SELECT prefix || ref, member_pk, prefix, ref FROM credit_dirty"
        f" WHERE prefix IN ({marks})",
        tuple(owned),
    )
    # A member's mark is dropped where the whole source is marked: no pair twice.
    await conn.execute(
        "DELETE FROM temp.credit_scope WHERE member_pk <> 0 AND EXISTS (SELECT 1 FROM"
        " temp.credit_scope z WHERE z.source = credit_scope.source AND z.member_pk = 0)"
    )
    await conn.execute("DELETE FROM credit_dirty")
    return int(await fetch_value(conn, "SELECT COUNT(*) FROM temp.credit_scope"))


async def forget_changes(conn: aiosqlite.Connection) -> None:
    """Empties `credit_dirty` (a full comparison covers every mark)."""
    await conn.execute("DELETE FROM credit_dirty")


_INTO = "INSERT INTO temp.credit_want (member_pk, source, points, on_date, rule, note) "


def _local_date(column: str) -> str:
    """SQL for the programme-local date of a stored UTC time column (a fixed, trusted name)."""
    return (
        f"date({column}, (SELECT modifier FROM temp.credit_tz WHERE utc_from <= {column}"
        " ORDER BY utc_from DESC LIMIT 1))"
    )


def _in_scope(column: str, *prefixes: str) -> str:
    """SQL: `column` is the ref of a scope row of one of `prefixes` (fixed, trusted text)."""
    names = ", ".join(f"'{p}'" for p in prefixes)
    return f"{column} IN (SELECT ref FROM temp.credit_scope WHERE prefix IN ({names}))"


async def _want_attendance(conn: aiosqlite.Connection, p: Prices, scoped: bool) -> None:
    if not (await table_exists(conn, "activities") and await table_exists(conn, "attendance")):
        return
    await conn.execute("DELETE FROM temp.credit_act")
    only = f" AND {_in_scope('a.id', 'attendance:', 'host:')}" if scoped else ""
    await conn.execute(
        "INSERT INTO temp.credit_act SELECT a.id, a.activity_id || ' ' || a.title,"
        f" a.host_pk, a.closed_at, {_local_date('a.start_at')} FROM activities a"
        f" WHERE a.status = 'scheduled'{only}"
    )
    statuses = sorted(p.attendance)
    case = " ".join("WHEN ? THEN ?" for _ in statuses)
    params: list[object] = [v for st in statuses for v in (st, p.attendance[st])]
    if scoped:
        # From the marks: one activity's records (member 0), or one member's record.
        records = (
            "FROM temp.credit_scope d CROSS JOIN attendance r ON r.activity_pk = d.ref"
            " AND (d.member_pk = 0 OR r.member_pk = d.member_pk)"
            " JOIN temp.credit_act a ON a.id = r.activity_pk WHERE d.prefix = 'attendance:'"
        )
    else:
        records = "FROM attendance r JOIN temp.credit_act a ON a.id = r.activity_pk WHERE 1"
    await conn.execute(
        _INTO + "SELECT r.member_pk, 'attendance:' || r.activity_pk,"
        f" CASE r.status {case} ELSE 0 END AS pts, a.day, 'attendance.' || r.status,"
        f" a.label || ': ' || r.status {records} AND pts <> 0",
        params,
    )
    # Hosting counts for an activity that took place under the bot: its roll call closed with
    # at least one member there, or its report filed. One imported after it had ended (closed
    # on import, nobody could check in, no report asked for) earns nothing.
    only = f" AND {_in_scope('a.id', 'host:')}" if scoped else ""
    held = (
        "(a.closed_at IS NOT NULL AND EXISTS (SELECT 1 FROM attendance r"
        f" WHERE r.activity_pk = a.id AND r.status IN ({','.join('?' * len(THERE))})))"
    )
    params = [p.hosting, *THERE]
    if await table_exists(conn, "reports"):
        held = (
            f"({held} OR EXISTS (SELECT 1 FROM reports f WHERE f.activity_pk = a.id"
            " AND f.submitted_at IS NOT NULL AND f.state = 'submitted'))"
        )
    await conn.execute(
        _INTO + "SELECT a.host_pk, 'host:' || a.id, ?, a.day, 'host',"
        " a.label FROM temp.credit_act a"
        f" WHERE a.host_pk IS NOT NULL AND {held} AND ? <> 0{only}",
        (*params, p.hosting),
    )
    await conn.execute("DELETE FROM temp.credit_act")


async def _want_reading(conn: aiosqlite.Connection, p: Prices, scoped: bool) -> None:
    if not await table_exists(conn, "reading_submissions") or not p.counted_statuses:
        return
    kinds = sorted(p.outputs)
    case = " ".join("WHEN ? THEN ?" for _ in kinds)
    marks = ",".join("?" * len(p.counted_statuses))
    params: list[object] = [p.monograph, p.book]
    params += [v for k in kinds for v in (k, p.outputs[k])]
    params += list(p.counted_statuses)
    only = f" AND {_in_scope('s.id', 'reading:')}" if scoped else ""
    await conn.execute(
        _INTO + "SELECT s.member_pk, 'reading:' || s.id,"
        " CASE WHEN s.kind = 'book' THEN (CASE WHEN s.monograph THEN ? ELSE ? END)"
        f" ELSE (CASE s.kind {case} ELSE 0 END) END AS pts,"
        f" COALESCE(s.finished_on, {_local_date('s.submitted_at')}),"
        " CASE WHEN s.kind = 'book' AND s.monograph THEN 'reading.monograph'"
        " ELSE 'reading.' || s.kind END, s.kind || ': ' || s.title"
        f" FROM reading_submissions s WHERE s.status IN ({marks}) AND pts <> 0{only}",
        params,
    )


async def _want_reports(conn: aiosqlite.Connection, p: Prices, scoped: bool) -> None:
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
    if scoped:
        where.append(_in_scope("r.id", "report:", "recommended:"))
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


async def _want_exams(conn: aiosqlite.Connection, p: Prices, scoped: bool) -> None:
    """Passed exams, dated in the programme year of their semester (bot.credits.rules.
    semester_year: `YYYYS1` spring, `YYYYS2` autumn): the import's date when it falls in that
    year, else the year's first or last day. So the autumn results imported in January count
    in the old year, and a re-score reverses and rebooks there. A label of another form (from
    before labels were checked) keeps the import's date."""
    only = (
        " AND (member_pk, semester) IN (SELECT member_pk, ref FROM temp.credit_scope"
        " WHERE prefix = 'exam:')" if scoped else ""
    )
    ys = p.year_starts
    # sy: the semester's calendar year; rep: a day inside the semester; label: its year.
    semesters = (
        "SELECT e.*, upper(trim(e.semester)) GLOB '[0-9][0-9][0-9][0-9]S[12]' AS ok,"
        f" {_local_date('e.imported_at')} AS day FROM exam_results e"
        f" WHERE e.score >= ? AND ? <> 0{only}"
    )
    label = (
        "(CAST(substr(trim(semester), 1, 4) AS INTEGER) - (CASE substr(trim(semester), 6, 1)"
        " WHEN '1' THEN '03-01' ELSE '10-01' END < ?))"
    )
    first = f"printf('%04d-%s', {label}, ?)"
    last = f"date(printf('%04d-%s', {label} + 1, ?), '-1 day')"
    await conn.execute(
        _INTO + "SELECT member_pk, 'exam:' || semester, ?,"
        f" CASE WHEN ok THEN max({first}, min(day, {last})) ELSE day END,"
        " 'exam.passed', semester || ': ' || printf('%g', score)"
        f" FROM ({semesters})",
        (p.exam_passed, ys, ys, ys, ys, p.exam_pass_mark, p.exam_passed),
    )


async def compare(
    conn: aiosqlite.Connection, prices: Prices, owned: Sequence[str], *, scoped: bool
) -> int:
    """Fills the differences (book() settles them): every (member, source, year) of the
    `owned` source prefixes — or of the scope taken by take_changes — whose ledger sum differs
    from what the sources say (by more than 1e-9). Returns how many there are."""
    await _prepare(conn, prices)
    await _want_attendance(conn, prices, scoped)
    await _want_reading(conn, prices, scoped)
    await _want_reports(conn, prices, scoped)
    await _want_exams(conn, prices, scoped)
    # The programme year of a local date: its calendar year, less one before year_starts.
    await conn.execute(
        "UPDATE temp.credit_want SET year = CAST(substr(on_date, 1, 4) AS INTEGER)"
        " - (substr(on_date, 6, 5) < ?)",
        (prices.year_starts,),
    )
    params: list[object] = []
    if scoped:
        held = (
            # CROSS JOIN: from the few marks into the ledger's index, never the other way.
            "FROM temp.credit_scope d CROSS JOIN credit_ledger l ON l.source = d.source"
            " AND (d.member_pk = 0 OR l.member_pk = d.member_pk) WHERE"
        )
    else:
        owned_sql = " OR ".join("(l.source >= ? AND l.source < ?)" for _ in owned)
        for prefix in owned:
            params += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        held = f"FROM credit_ledger l WHERE ({owned_sql}) AND"
    # Wanted vs held (the ledger side by its covering index), then held but no longer wanted.
    await conn.execute(
        "INSERT INTO temp.credit_diff (member_pk, source, year, want, have, on_date, rule, note)"
        " SELECT * FROM ("
        "SELECT w.member_pk, w.source, w.year, w.points, COALESCE((SELECT SUM(l.points)"
        " FROM credit_ledger l WHERE l.source = w.source AND l.member_pk = w.member_pk"
        " AND l.year = w.year), 0.0) AS held, w.on_date, w.rule, w.note"
        " FROM temp.credit_want w WHERE abs(w.points - held) > 1e-9"
        " UNION ALL"
        " SELECT l.member_pk, l.source, l.year, 0.0, SUM(l.points) AS held, NULL, NULL, NULL"
        f" {held} NOT EXISTS (SELECT 1 FROM temp.credit_want w WHERE w.source = l.source"
        " AND w.member_pk = l.member_pk AND w.year = l.year)"
        " GROUP BY l.source, l.member_pk, l.year HAVING abs(held) > 1e-9"
        ")",
        params,
    )
    await conn.execute("DELETE FROM temp.credit_want")
    # A decided programme year's totals are frozen (its exit decisions were made on them):
    # nothing is booked into it any more, whatever its sources say now.
    await conn.execute(
        "DELETE FROM temp.credit_diff WHERE year IN (SELECT year FROM credit_years)"
    )
    # What a reversal repeats: the latest entry held there that is not itself a reversal.
    await conn.execute(
        "UPDATE temp.credit_diff SET last_id = (SELECT l.id FROM credit_ledger l"
        " WHERE l.member_pk = credit_diff.member_pk AND l.source = credit_diff.source"
        " AND l.year = credit_diff.year AND l.note NOT LIKE 'reversed: %'"
        " ORDER BY l.id DESC LIMIT 1) WHERE abs(have) > 1e-9"
    )
    return int(await fetch_value(conn, "SELECT COUNT(*) FROM temp.credit_diff"))


async def book(conn: aiosqlite.Connection, now: str) -> int:
    """Appends the rows that settle the differences compare() found; returns how many.

    The same rows, in the same order, as bot.credits.sync.plan() makes of them: per (member,
    source) in key order, what is held in each year reversed whole by a counter-entry
    repeating the date and rule of the latest entry that is not itself a reversal (noted
    "reversed: <its note>"; without one: the year's last day, the source's prefix, "reversed:
    <source>"), then what is wanted booked. One statement: nothing comes back to Python.
    """
    cur = await conn.execute(
        "INSERT INTO credit_ledger (member_pk, on_date, points, rule, source, note, actor_pk,"
        " created_at, year) SELECT member_pk, on_date, points, rule, source, note, NULL, ?,"
        " year FROM ("
        "SELECT d.member_pk, d.source, 0 AS kind, d.year,"
        " COALESCE(e.on_date, printf('%04d-12-31', d.year)) AS on_date, -d.have AS points,"
        " COALESCE(e.rule, substr(d.source, 1, instr(d.source, ':') - 1)) AS rule,"
        f" '{REVERSED}' || COALESCE(e.note, d.source) AS note"
        " FROM temp.credit_diff d LEFT JOIN credit_ledger e ON e.id = d.last_id"
        " WHERE abs(d.have) > 1e-9"
        " UNION ALL"
        " SELECT d.member_pk, d.source, 1, d.year, d.on_date, d.want, d.rule, d.note"
        " FROM temp.credit_diff d WHERE abs(d.want) > 1e-9"
        ") ORDER BY member_pk, source, kind, year",
        (now,),
    )
    written = cur.rowcount
    await cur.close()
    await conn.execute("DELETE FROM temp.credit_diff")
    return written


async def exam_results(conn: aiosqlite.Connection) -> list[tuple[int, str, float, str]]:
    """(member, semester, score, imported_at) of every exam result."""
    rows = await conn.execute_fetchall(
        "SELECT member_pk, semester, score, imported_at FROM exam_results"
    )
    return [(int(r[0]), str(r[1]), float(r[2]), str(r[3])) for r in rows]
