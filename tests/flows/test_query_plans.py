"""Every hot lookup uses an index: `EXPLAIN QUERY PLAN` on a migrated database shows no full
scan of members, activities, attendance, outbox or credit_ledger (issue 10, "Scale"), nor of
leave_requests and checkin_tries on the check-in path.

The statements are the storage modules' own text (copied, or built from their `_SELECT`
prefixes), so a change there that loses its index shows up here once the copy is refreshed.

Accepted in a plan: `SEARCH <t> USING [COVERING] INDEX ...` / `USING INTEGER PRIMARY KEY`,
`SCAN <t> USING [COVERING] INDEX ...` (an index walk in the wanted order, e.g. the partial
index `outbox_pending`), and `USE TEMP B-TREE FOR ORDER BY` (sorting the few rows a SEARCH
found, e.g. the activities of one time window). Refused: a bare `SCAN <t>` of a hot table.
Lookups of other tables (groups by primary key, temp tables) are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import activities as activities_repo
from storage import credits as credits_repo
from storage import members as members_repo
from storage.db import open_database

HOT_TABLES = frozenset({"members", "activities", "attendance", "outbox", "credit_ledger",
                        "leave_requests", "checkin_tries"})
_SCAN = re.compile(r"^SCAN (\w+)(?: AS (\w+))?(.*)$")
_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE)
_NOT_ALIAS = frozenset({"on", "where", "left", "join", "group", "order", "limit", "inner",
                        "using", "set"})

M = members_repo._SELECT
A = activities_repo._SELECT

CASES = [
    # -- members (storage/members.py)
    ("member by telegram id", f"{M} WHERE m.telegram_id = ?"),
    ("member by member_id", f"{M} WHERE m.member_id = ?"),
    ("member by pk", f"{M} WHERE m.id = ?"),
    ("group leader",
     f"{M} WHERE m.group_id = ? AND m.role = 'leader' AND m.active = 1 LIMIT 1"),
    ("group members", f"{M} WHERE m.group_id = ? AND m.active = 1 ORDER BY m.member_id"),
    ("hr members", f"{M} WHERE m.role = 'hr' AND m.active = 1 ORDER BY m.member_id"),
    ("mark unreachable",
     "UPDATE members SET unreachable_at = ?, unreachable_reason = ? WHERE telegram_id = ?"),
    # -- activities (storage/activities.py)
    ("activity by pk", f"{A} WHERE a.id = ?"),
    ("activity by activity_id", f"{A} WHERE a.activity_id = ?"),
    ("activities open around now",
     f"{A} WHERE a.status = 'scheduled' AND a.start_at <= ? AND a.end_at > ?"
     " ORDER BY a.start_at, a.id"),
    ("activities open around now with the member's record",
     "SELECT a.*, g.name AS group_name, h.name AS host_name, h.member_id AS host_member_id,"
     " r.status AS r_status, r.checkin_at AS r_checkin_at, r.checkout_at AS r_checkout_at,"
     " r.note AS r_note, r.source AS r_source"
     " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
     " LEFT JOIN members h ON h.id = a.host_pk"
     " LEFT JOIN attendance r ON r.activity_pk = a.id AND r.member_pk = ?"
     " WHERE a.status = 'scheduled' AND a.start_at <= ? AND a.end_at > ?"
     " ORDER BY a.start_at, a.id"),
    ("activities ended in a window",
     f"{A} WHERE a.status = 'scheduled' AND a.end_at > ? AND a.end_at <= ?"
     " ORDER BY a.end_at DESC, a.id"),
    ("activities due to close",
     f"{A} WHERE a.status = 'scheduled' AND a.closed_at IS NULL AND a.end_at <= ?"
     " ORDER BY a.end_at, a.id"),
    ("upcoming group studies",
     f"{A} WHERE a.status = 'scheduled' AND a.type = 'group_study' AND a.group_id = ?"
     " AND a.start_at > ? ORDER BY a.start_at, a.id LIMIT ?"),
    # -- reminders / digests (storage/reminders.py)
    ("reminder candidates",
     "SELECT a.id, a.type, a.group_id, a.start_at, a.end_at, a.updated_at,"
     " (SELECT group_concat(r.kind) FROM activity_reminders r"
     "  WHERE r.activity_pk = a.id AND r.start_at = a.start_at) AS done"
     " FROM activities a WHERE a.status = 'scheduled' AND a.end_at > ? AND a.start_at < ?"
     " ORDER BY a.start_at, a.id"),
    ("digest: attendance between (HR)",
     "SELECT a.id AS activity_pk, a.activity_id, a.title, a.type, a.start_at, a.end_at,"
     " g.name AS group_name, r.status, m.name AS member_name, m.member_id"
     " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
     " LEFT JOIN attendance r ON r.activity_pk = a.id"
     " LEFT JOIN members m ON m.id = r.member_pk"
     " WHERE a.status = 'scheduled' AND a.end_at >= ? AND a.end_at < ?"
     " ORDER BY a.start_at, a.id, m.member_id"),
    ("digest: attendance between (leader)",
     "SELECT a.id AS activity_pk, a.activity_id, a.title, a.type, a.start_at, a.end_at,"
     " g.name AS group_name, r.status, m.name AS member_name, m.member_id"
     " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
     " LEFT JOIN attendance r ON r.activity_pk = a.id"
     " AND r.member_pk IN (SELECT id FROM members WHERE group_id = ?)"
     " LEFT JOIN members m ON m.id = r.member_pk"
     " WHERE a.status = 'scheduled' AND a.end_at >= ? AND a.end_at < ?"
     " AND (a.type <> 'group_study' OR a.group_id = ?) ORDER BY a.start_at, a.id, m.member_id"),
    ("digest: a member's attendance between",
     "SELECT a.id AS activity_pk, a.title, a.start_at, r.status"
     " FROM activities a JOIN members m ON m.id = ?"
     " LEFT JOIN attendance r ON r.activity_pk = a.id AND r.member_pk = m.id"
     " WHERE a.status = 'scheduled' AND a.end_at >= ? AND a.end_at < ?"
     " AND (a.type <> 'group_study' OR a.group_id = m.group_id)"
     " ORDER BY a.start_at, a.id"),
    ("digest: reportable activities between (storage/reports.py)",
     "SELECT a.id AS activity_pk, a.title, a.start_at, a.end_at, g.name AS group_name,"
     " h.name AS host_name, r.state, r.submitted_at, r.late"
     " FROM activities a LEFT JOIN groups g ON g.id = a.group_id"
     " LEFT JOIN members h ON h.id = a.host_pk LEFT JOIN reports r ON r.activity_pk = a.id"
     " WHERE a.type = 'group_study' AND a.status = 'scheduled' AND a.host_pk IS NOT NULL"
     " AND a.end_at >= ? AND a.end_at < ? ORDER BY a.end_at, a.id"),
    # -- attendance (storage/attendance.py)
    ("attendance by (activity, member)",
     "SELECT * FROM attendance WHERE activity_pk = ? AND member_pk = ?"),
    ("attendance roll of an activity", "SELECT * FROM attendance WHERE activity_pk = ?"),
    ("attendance of a member for activities",
     "SELECT * FROM attendance WHERE member_pk = ? AND activity_pk IN (?,?,?)"),
    ("attendance statuses of a member between",
     "SELECT r.status FROM attendance r JOIN activities a ON a.id = r.activity_pk"
     " WHERE r.member_pk = ? AND a.status = 'scheduled' AND a.start_at >= ?"
     " AND a.start_at < ?"),
    ("check in if the activity is unchanged",
     "INSERT INTO attendance (activity_pk, member_pk, status, checkin_at, source, created_at,"
     " updated_at) SELECT id, ?, ?, ?, ?, ?, ? FROM activities"
     " WHERE id = ? AND status = 'scheduled' AND start_at = ? AND end_at = ?"
     " ON CONFLICT (activity_pk, member_pk) DO NOTHING"),
    ("leave void on check-in (storage/leave.py)",
     "UPDATE leave_requests SET state = 'void', updated_at = ?"
     " WHERE activity_pk = ? AND member_pk = ? AND state IN ('pending', 'approved') RETURNING id"),
    ("wrong check-in codes since",
     "SELECT at FROM checkin_tries WHERE member_pk = ? AND activity_pk = ? AND at > ?"
     " ORDER BY at"),
    ("wrong check-in codes pruned",
     "DELETE FROM checkin_tries WHERE member_pk = ? AND activity_pk = ? AND at <= ?"),
    ("check out",
     "UPDATE attendance SET checkout_at = ?, status = 'early_leave', updated_at = ?"
     " WHERE activity_pk = ? AND member_pk = ? AND checkout_at IS NULL"
     " AND status IN ('present', 'late')"),
    # -- outbox (storage/outbox.py)
    ("outbox due rows",
     "SELECT id, chat_id, member_pk, kind, payload, attempts FROM outbox"
     " WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?"),
    ("outbox next due", "SELECT MIN(not_before) FROM outbox WHERE status = 'pending'"),
    ("outbox refused in a digest period (storage/reminders.py)",
     "SELECT o.chat_id, o.payload, o.last_error, m.name AS member_name, m.member_id,"
     " g.name AS group_name FROM outbox o"
     " LEFT JOIN members m ON m.id = o.member_pk LEFT JOIN groups g ON g.id = m.group_id"
     " WHERE o.status = 'failed' AND o.not_before >= ? AND o.not_before < ?"
     " ORDER BY o.not_before, o.id"),
    ("outbox counts by kind",
     "SELECT status, COUNT(*) FROM outbox WHERE kind = ? GROUP BY status"),
    ("outbox mark sent",
     "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, attempts = attempts + 1"
     " WHERE id = ? AND status = 'pending'"),
    ("outbox by dedupe key", "SELECT id FROM outbox WHERE dedupe_key = ?"),
    ("announcement progress per recipient",
     "SELECT CASE WHEN SUM(status = 'pending') > 0 THEN 'pending'"
     " WHEN SUM(status = 'unreachable') > 0 THEN 'unreachable'"
     " WHEN SUM(status = 'failed') > 0 THEN 'failed' ELSE 'sent' END"
     " FROM outbox WHERE kind = ? GROUP BY chat_id"),
    ("outbox later rows of a chat wait with a retried row",
     "UPDATE outbox SET not_before = ?"
     " WHERE status = 'pending' AND not_before < ?"
     " AND chat_id = (SELECT chat_id FROM outbox WHERE id = ?)"
     " AND (not_before, id) > (SELECT not_before, id FROM outbox WHERE id = ?)"),
    # -- credit ledger (storage/credits.py)
    ("ledger total of a member in a year",
     "SELECT COALESCE(SUM(points), 0) FROM credit_ledger WHERE member_pk = ? AND year = ?"),
    ("ledger entries of a member in a year",
     "SELECT * FROM credit_ledger WHERE member_pk = ? AND year = ? ORDER BY on_date, id"),
    ("ledger rule sums of a member",
     "SELECT rule, SUM(points), SUM(CASE WHEN note LIKE 'reversed: %' THEN -1 ELSE 1 END)"
     " FROM credit_ledger WHERE member_pk = ? AND year = ? GROUP BY rule ORDER BY rule"),
    ("ledger totals of a year (ranking)",
     "SELECT member_pk, SUM(points) FROM credit_ledger WHERE year = ? GROUP BY member_pk"),
    ("ledger daily sums",
     "SELECT member_pk, on_date, SUM(points) FROM credit_ledger"
     " WHERE year = ? AND member_pk IN (?,?,?) GROUP BY member_pk, on_date"
     " ORDER BY member_pk, on_date"),
    ("ledger last entry of a source",
     "SELECT * FROM credit_ledger WHERE member_pk = ? AND source = ? AND year = ?"
     " AND note NOT LIKE 'reversed: %' ORDER BY id DESC LIMIT 1"),
    ("ledger held by source",
     "SELECT SUM(l.points) FROM credit_ledger l WHERE l.source = ? AND l.member_pk = ?"
     " AND l.year = ?"),
    ("ledger source prefix range",
     "SELECT l.member_pk, l.source, l.year, SUM(l.points) AS held FROM credit_ledger l"
     " WHERE (l.source >= ? AND l.source < ?) GROUP BY l.source, l.member_pk, l.year"),
    ("ledger any entry in a year", "SELECT 1 FROM credit_ledger WHERE year = ? LIMIT 1"),
    # -- the ledger sync from the change marks (storage/credits.py, scoped=True)
    ("ledger sync: anything to do",
     "SELECT (SELECT rules FROM credit_sync_state WHERE id = 1),"
     " EXISTS (SELECT 1 FROM credit_dirty), (SELECT MAX(version) FROM schema_migrations)"),
    ("ledger sync: marked activities",
     "SELECT a.id FROM activities a WHERE a.status = 'scheduled'"
     " AND a.id IN (SELECT ref FROM temp.credit_scope WHERE prefix IN ('attendance:', 'host:'))"),
    ("ledger sync: marked roll-call records",
     "SELECT r.member_pk, r.status, a.day FROM temp.credit_scope d CROSS JOIN attendance r"
     " ON r.activity_pk = d.ref AND (d.member_pk = 0 OR r.member_pk = d.member_pk)"
     " JOIN temp.credit_act a ON a.id = r.activity_pk WHERE d.prefix = 'attendance:'"),
    (SCOPED_HELD := "ledger sync: held by the marked pairs",
     "SELECT l.member_pk, l.source, l.year, SUM(l.points) AS held FROM temp.credit_scope d"
     " CROSS JOIN credit_ledger l ON l.source = d.source"
     " AND (d.member_pk = 0 OR l.member_pk = d.member_pk) WHERE NOT EXISTS (SELECT 1"
     " FROM temp.credit_want w WHERE w.source = l.source AND w.member_pk = l.member_pk"
     " AND w.year = l.year) GROUP BY l.source, l.member_pk, l.year HAVING abs(held) > 1e-9"),
    ("ledger sync: wanted vs held",
     "SELECT w.member_pk, w.source, w.year, w.points, COALESCE((SELECT SUM(l.points)"
     " FROM credit_ledger l WHERE l.source = w.source AND l.member_pk = w.member_pk"
     " AND l.year = w.year), 0.0) AS held FROM temp.credit_want w"
     " WHERE abs(w.points - held) > 1e-9"),
    ("ledger sync: what a reversal repeats",
     "UPDATE temp.credit_diff SET last_id = (SELECT l.id FROM credit_ledger l"
     " WHERE l.member_pk = credit_diff.member_pk AND l.source = credit_diff.source"
     " AND l.year = credit_diff.year AND l.note NOT LIKE 'reversed: %'"
     " ORDER BY l.id DESC LIMIT 1) WHERE abs(have) > 1e-9"),
    ("ledger sync: booking",
     "SELECT d.member_pk, e.on_date FROM temp.credit_diff d"
     " LEFT JOIN credit_ledger e ON e.id = d.last_id WHERE abs(d.have) > 1e-9"),
]


def _aliases(sql: str) -> dict[str, str]:
    """alias (or table name) -> table name, for the tables named after FROM / JOIN."""
    out: dict[str, str] = {}
    for table, alias in _ALIAS.findall(sql):
        out[table] = table
        if alias and alias.lower() not in _NOT_ALIAS:
            out[alias] = table
    if sql.lstrip().upper().startswith(("UPDATE", "DELETE FROM")):
        table = sql.split()[2 if sql.lstrip().upper().startswith("DELETE") else 1]
        out[table] = table
    return out


def full_scans(sql: str, plan: list[str]) -> list[str]:
    """The plan lines that scan a hot table without an index."""
    names = _aliases(sql)
    bad = []
    for detail in plan:
        m = _SCAN.match(detail)
        if m is None or "USING" in m.group(3):
            continue
        table = names.get(m.group(2) or m.group(1), m.group(1))
        if table in HOT_TABLES:
            bad.append(detail)
    return bad


@pytest.mark.parametrize(
    ("sql", "plan", "expected"),
    [
        ("SELECT * FROM outbox", ["SCAN outbox"], ["SCAN outbox"]),
        ("SELECT * FROM activities a", ["SCAN a"], ["SCAN a"]),
        ("SELECT * FROM outbox", ["SCAN outbox USING INDEX outbox_pending"], []),
        ("SELECT * FROM groups", ["SCAN groups"], []),
        ("SELECT * FROM members m", ["SEARCH m USING INDEX members_role (role=?)",
                                     "USE TEMP B-TREE FOR ORDER BY"], []),
    ],
)
def test_the_checker_tells_a_scan_from_an_index(
    sql: str, plan: list[str], expected: list[str]
) -> None:
    assert full_scans(sql, plan) == expected


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    import asyncio

    path: Path = tmp_path_factory.mktemp("plans") / "plans.sqlite3"

    async def explain() -> dict[str, list[str]]:
        db = await open_database(path)
        try:
            out: dict[str, list[str]] = {}
            async with db.read() as conn:
                await credits_repo.temp_tables(conn)  # the ledger sync's work tables
                for name, sql in CASES:
                    params = tuple("x" for _ in range(sql.count("?")))
                    rows = await conn.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
                    out[name] = [str(r[3]) for r in rows]
            return out
        finally:
            await db.close()

    return asyncio.run(explain())


@pytest.mark.parametrize(("name", "sql"), CASES, ids=[c[0] for c in CASES])
def test_hot_query_uses_an_index(plans: dict[str, list[str]], name: str, sql: str) -> None:
    plan = plans[name]
    assert plan, name
    assert full_scans(sql, plan) == [], "\n".join(plan)


def test_the_scoped_ledger_sync_reads_only_the_marked_pairs(
    plans: dict[str, list[str]],
) -> None:
    # An index walk would pass the check above, but here it would read the whole ledger.
    assert any(line.startswith("SEARCH l ") for line in plans[SCOPED_HELD]), plans[SCOPED_HELD]
    assert not any(line.startswith("SCAN l") for line in plans[SCOPED_HELD])
