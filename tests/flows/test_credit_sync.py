"""The ledger reconciliation on a real database: entries from the sources, idempotence, and
reversal by counter-entries (a corrected roll call, a returned submission, a cancelled activity,
changed points); hand adjustments untouched; a missing source table skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.config import Config
from bot.credits import sync as credit_sync
from bot.credits.sync import Book, Reverse, Want, reconcile, sync
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage import reading as reading_repo
from storage.db import Database, open_database, ts
from tests.helpers import T0, TZ, load_roster, make_config

NOW = T0


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    pk: dict[str, int]


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    cfg = make_config(tmp_path)
    await load_roster(cfg, _ROSTER, NOW)
    db = await open_database(cfg.db_path)
    async with db.read() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
    try:
        yield World(db, cfg, pks)
    finally:
        await db.close()


_ROSTER = """member_id,name,role,group,school,stage
L1,罗宏伟,leader,第一组,北山小学,小学
T1,黄志强,trainee,第一组,育才小学,小学
T2,邹立新,trainee,第一组,东关小学,小学
H1,周敏,hr,,教育局人事科,
"""


async def _activity(w: World, aid: str, start: dt.datetime, host: str | None = None,
                    closed: bool = True) -> int:
    async with w.db.tx() as conn:
        return await activities_repo.insert(
            conn, activity_id=aid, type="group_study", title="读书交流会", group_id=1,
            start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)), location="",
            lat=None, lon=None, radius_m=None, host_pk=w.pk[host] if host else None,
            secret="s", source="import", created_by=None, now=ts(NOW),
            closed_at=ts(start + dt.timedelta(hours=2)) if closed else None,
        )


async def _attend(w: World, activity_pk: int, member: str, status: str) -> None:
    async with w.db.tx() as conn:
        await attendance_repo.check_in(conn, activity_pk, w.pk[member], status, ts(NOW), "code")


async def _rows(w: World, member: str) -> list[ledger.Entry]:
    async with w.db.read() as conn:
        return await ledger.member_entries(conn, w.pk[member], 2026) + \
            await ledger.member_entries(conn, w.pk[member], 2025)


async def _total(w: World, member: str, year: int = 2026) -> float:
    async with w.db.read() as conn:
        return await ledger.totals_of(conn, w.pk[member], year)


async def _all_rows(w: World) -> int:
    async with w.db.read() as conn, conn.execute("SELECT COUNT(*) FROM credit_ledger") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def test_attendance_and_hosting_are_booked_once(w: World) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1), host="T1")
    await _attend(w, a, "T1", "present")
    await _attend(w, a, "T2", "late")
    assert await sync(w.db, w.cfg, NOW) == 3
    assert await _total(w, "T1") == 2 + 2  # present + hosting
    assert await _total(w, "T2") == 1
    rows = await _rows(w, "T1")
    assert {(r.rule, r.source, r.on_date) for r in rows} == {
        ("attendance.present", f"attendance:{a}", "2026-03-01"),
        ("host", f"host:{a}", "2026-03-01"),
    }
    # Running it twice changes nothing, also when forced past the "nothing changed" shortcut.
    assert await sync(w.db, w.cfg, NOW) == 0
    assert await sync(w.db, w.cfg, NOW, force=True) == 0
    assert await _all_rows(w) == 3


async def test_a_corrected_attendance_reverses(w: World) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1))
    await _attend(w, a, "T1", "present")
    await sync(w.db, w.cfg, NOW)
    async with w.db.tx() as conn:
        await attendance_repo.correct(conn, a, w.pk["T1"], "absent", "没来", w.pk["L1"], ts(NOW))
    assert await sync(w.db, w.cfg, NOW) == 2
    assert await _total(w, "T1") == -2
    rows = await _rows(w, "T1")
    assert [(r.points, r.note.startswith("reversed: ")) for r in rows] == [
        (2, False), (-2, True), (-2, False)
    ]
    assert rows[1].note == f"reversed: {rows[0].note}" and rows[1].rule == "attendance.present"
    assert await sync(w.db, w.cfg, NOW, force=True) == 0


async def test_a_cancelled_activity_reverses_attendance_and_hosting(w: World) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1), host="T2")
    await _attend(w, a, "T1", "present")
    await sync(w.db, w.cfg, NOW)
    async with w.db.tx() as conn:
        await activities_repo.cancel(conn, a, ts(NOW))
    assert await sync(w.db, w.cfg, NOW) == 2
    assert await _total(w, "T1") == 0 and await _total(w, "T2") == 0


async def test_hosting_counts_once_the_roll_call_closed(w: World) -> None:
    a = await _activity(w, "A1", NOW + dt.timedelta(days=1), host="T2", closed=False)
    await _attend(w, a, "T1", "present")  # issue 16: hosting needs somebody there
    await sync(w.db, w.cfg, NOW)
    assert await _total(w, "T2") == 0
    async with w.db.tx() as conn:
        await activities_repo.mark_closed(conn, a, ts(NOW))
    await sync(w.db, w.cfg, NOW)
    assert await _total(w, "T2") == 2


async def _submit(w: World, member: str, kind: str, title: str, monograph: bool = False) -> int:
    async with w.db.tx() as conn:
        return await reading_repo.insert(
            conn, member_pk=w.pk[member], year=2026, kind=kind, title=title, title_norm=title,
            now=ts(NOW), monograph=monograph, finished_on="2026-02-20", body="心得" * 200,
        )


async def test_a_returned_submission_reverses_and_a_resubmission_books_again(w: World) -> None:
    book = await _submit(w, "T1", "book", "给教师的建议")
    await _submit(w, "T1", "book", "教育的情调", monograph=True)
    await _submit(w, "T1", "management_analysis", "课后服务")
    await sync(w.db, w.cfg, NOW)
    assert await _total(w, "T1") == 2 + 3 + 5  # book, monograph instead of book, analysis
    async with w.db.tx() as conn:
        assert await reading_repo.set_review(conn, book, expect=("submitted",), status="returned",
                                             reviewer_pk=w.pk["L1"], comment="再写写",
                                             now=ts(NOW))
    assert await sync(w.db, w.cfg, NOW) == 1
    assert await _total(w, "T1") == 8
    reversal = (await _rows(w, "T1"))[-1]
    assert reversal.points == -2 and reversal.note == "reversed: book: 给教师的建议"
    async with w.db.tx() as conn:
        await reading_repo.resubmit(conn, book, member_pk=w.pk["T1"], body="新的" * 200,
                                    file=None, now=ts(NOW))
    assert await sync(w.db, w.cfg, NOW) == 1
    assert await _total(w, "T1") == 10


async def test_required_review_counts_only_accepted(w: World) -> None:
    cfg = w.cfg.replace(reading=dataclasses.replace(w.cfg.reading, review="required"))
    sub = await _submit(w, "T2", "paper", "论文")
    await sync(w.db, cfg, NOW)
    assert await _total(w, "T2") == 0
    async with w.db.tx() as conn:
        await reading_repo.set_review(conn, sub, expect=("submitted",), status="accepted",
                                      reviewer_pk=w.pk["L1"], comment=None, now=ts(NOW))
    await sync(w.db, cfg, NOW)
    assert await _total(w, "T2") == 3


async def test_changed_points_rebook_every_source(w: World) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1))
    await _attend(w, a, "T1", "present")
    await sync(w.db, w.cfg, NOW)
    cfg = w.cfg.replace(credits=dataclasses.replace(w.cfg.credits, present=3.0))
    assert await sync(w.db, cfg, NOW) == 2
    assert await _total(w, "T1") == 3


async def test_exams_passed_earn_points_per_the_pass_mark(w: World) -> None:
    async with w.db.tx() as conn:
        await exits_repo.upsert_exams(
            conn, [(w.pk["T1"], "2025S2", 75), (w.pk["T2"], "2025S2", 55)], ts(NOW)
        )
    await sync(w.db, w.cfg, NOW)
    # 2025S2 is the autumn semester of 2025: its credits count in 2025 (issue 16).
    assert (await _total(w, "T1", 2025), await _total(w, "T2", 2025)) == (5, 0)
    cfg = w.cfg.replace(exit=dataclasses.replace(w.cfg.exit, exam_pass_mark=50.0))
    await sync(w.db, cfg, NOW)
    assert (await _total(w, "T1", 2025), await _total(w, "T2", 2025)) == (5, 5)


async def test_adjustments_are_left_alone(w: World) -> None:
    async with w.db.tx() as conn:
        await ledger.append(conn, [ledger.NewEntry(w.pk["T1"], "2026-03-01", 4, "adjust",
                                                   "adjust:1", "优秀", 2026, w.pk["H1"])], ts(NOW))
    assert await sync(w.db, w.cfg, NOW, force=True) == 0
    assert await _total(w, "T1") == 4


async def test_filed_reports_and_recommended_work(w: World) -> None:
    if not await _has_reports(w):
        pytest.skip("the reports feature has not landed")
    a1 = await _activity(w, "A1", NOW - dt.timedelta(days=3), host="T1")
    a2 = await _activity(w, "A2", NOW - dt.timedelta(days=2), host="T2")
    async with w.db.tx() as conn:
        for activity, host, late, recommended, state in (
            (a1, "T1", 0, "T2", "submitted"), (a2, "T2", 1, None, "submitted"),
        ):
            await conn.execute(
                "INSERT INTO reports (activity_pk, host_pk, state, submitted_at, late,"
                " recommended_member_pk, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (activity, w.pk[host], state, ts(NOW), late,
                 w.pk[recommended] if recommended else None, ts(NOW), ts(NOW)),
            )
    await sync(w.db, w.cfg, NOW)
    # T1: hosting 2 + report on time 2; T2: hosting 2 + late report 1 + recommended work 2.
    assert (await _total(w, "T1"), await _total(w, "T2")) == (4, 5)
    async with w.db.tx() as conn:
        await conn.execute("UPDATE reports SET state = 'draft' WHERE activity_pk = ?", (a1,))
    await sync(w.db, w.cfg, NOW)
    # Issue 16: nobody checked in at A1, so without its report its hosting goes too.
    assert (await _total(w, "T1"), await _total(w, "T2")) == (0, 3)


async def _has_reports(w: World) -> bool:
    async with w.db.read() as conn:
        return await ledger.table_exists(conn, "reports")


async def test_a_missing_source_table_is_skipped(w: World) -> None:
    # Children first, so no foreign key stands in the way.
    for table in ("report_photos", "reports", "reading_events", "reading_submissions"):
        async with w.db.tx() as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1))
    await _attend(w, a, "T1", "present")
    assert await sync(w.db, w.cfg, NOW) == 1
    assert await _total(w, "T1") == 2


async def test_points_land_in_the_programme_year_of_their_date(w: World) -> None:
    a = await _activity(w, "A1", dt.datetime(2025, 12, 31, 9, 0, tzinfo=TZ))
    await _attend(w, a, "T1", "absent")
    await sync(w.db, w.cfg, NOW)
    assert (await _total(w, "T1", 2025), await _total(w, "T1", 2026)) == (-2, 0)
    # Moved into the new year: reversed in 2025, booked in 2026.
    async with w.db.tx() as conn:
        await activities_repo.move(conn, a, ts(dt.datetime(2026, 1, 2, 9, tzinfo=TZ)),
                                   ts(dt.datetime(2026, 1, 2, 11, tzinfo=TZ)), ts(NOW))
    await sync(w.db, w.cfg, NOW)
    assert (await _total(w, "T1", 2025), await _total(w, "T1", 2026)) == (0, -2)


async def test_a_write_by_another_process_is_seen(w: World) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1))
    await sync(w.db, w.cfg, NOW)
    other = await open_database(w.cfg.db_path)
    try:
        async with other.tx() as conn:
            await attendance_repo.check_in(conn, a, w.pk["T2"], "present", ts(NOW), "code")
    finally:
        await other.close()
    assert await sync(w.db, w.cfg, NOW) == 1


def _w(member: int, source: str, points: float, year: int = 2026) -> Want:
    return Want(member, source, points, f"{year}-03-01", year, "r", "n")


@pytest.mark.parametrize(
    ("want", "have", "expected"),
    [
        # New: booked.
        ([_w(1, "a:1", 2)], {}, [("book", 1, "a:1", 2)]),
        # Already there: nothing.
        ([_w(1, "a:1", 2)], {(1, "a:1"): {2026: 2.0}}, []),
        # Changed: reversed, then booked.
        ([_w(1, "a:1", -2)], {(1, "a:1"): {2026: 2.0}},
         [("reverse", 1, "a:1", 2.0), ("book", 1, "a:1", -2)]),
        # Gone: reversed.
        ([], {(1, "a:1"): {2026: 2.0}}, [("reverse", 1, "a:1", 2.0)]),
        # Already reversed (sum zero): nothing.
        ([], {(1, "a:1"): {2026: 0.0}}, []),
        # Worth zero now: only the reversal, no zero row.
        ([_w(1, "a:1", 0)], {(1, "a:1"): {2026: 2.0}}, [("reverse", 1, "a:1", 2.0)]),
        # Same points, other year: reversed there, booked here.
        ([_w(1, "a:1", 2, 2026)], {(1, "a:1"): {2025: 2.0}},
         [("reverse", 1, "a:1", 2.0), ("book", 1, "a:1", 2)]),
        # Floating-point noise is no difference.
        ([_w(1, "a:1", 0.3)], {(1, "a:1"): {2026: 0.1 + 0.2}}, []),
    ],
)
def test_reconcile(want: list[Want], have: dict[tuple[int, str], dict[int, float]],
                   expected: list[tuple[str, int, str, float]]) -> None:
    actions = reconcile({x.key: x for x in want}, have)
    got = [("book", a.want.member_pk, a.want.source, a.want.points) if isinstance(a, Book)
           else ("reverse", a.member_pk, a.source, a.amount) for a in actions]
    assert got == expected
    assert all(isinstance(a, Book | Reverse) for a in actions)


@pytest.mark.parametrize(
    ("zone", "start_utc", "day"),
    [
        ("Asia/Shanghai", dt.datetime(2026, 3, 1, 16, 30), "2026-03-02"),  # 00:30 local
        ("Asia/Shanghai", dt.datetime(2026, 3, 1, 15, 30), "2026-03-01"),  # 23:30 local
        ("Europe/Berlin", dt.datetime(2026, 1, 1, 23, 30), "2026-01-02"),  # CET, +1
        ("Europe/Berlin", dt.datetime(2026, 7, 1, 22, 30), "2026-07-02"),  # CEST, +2
        ("Europe/Berlin", dt.datetime(2026, 7, 1, 21, 30), "2026-07-01"),
        ("America/New_York", dt.datetime(2026, 3, 8, 4, 30), "2026-03-07"),  # before the change
    ],
)
async def test_local_dates_follow_the_programme_time_zone(
    tmp_path: Path, zone: str, start_utc: dt.datetime, day: str
) -> None:
    cfg = make_config(tmp_path, program={"timezone": zone})
    await load_roster(cfg, _ROSTER, NOW)
    db = await open_database(cfg.db_path)
    try:
        async with db.read() as conn:
            pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        w = World(db, cfg, pks)
        a = await _activity(w, "A1", start_utc.replace(tzinfo=dt.UTC))
        await _attend(w, a, "T1", "present")
        await sync(db, cfg, NOW)
        rows = await _rows(w, "T1")
        assert [r.on_date for r in rows] == [day]
    finally:
        await db.close()


async def test_a_school_year(w: World) -> None:
    cfg = w.cfg.replace(program=dataclasses.replace(w.cfg.program, year_starts="09-01"))
    for aid, day in (("A1", dt.datetime(2025, 8, 31, 9, tzinfo=TZ)),
                     ("A2", dt.datetime(2025, 9, 1, 9, tzinfo=TZ))):
        await _attend(w, await _activity(w, aid, day), "T1", "present")
    await sync(w.db, cfg, NOW)
    async with w.db.read() as conn:
        assert await ledger.totals_of(conn, w.pk["T1"], 2024) == 2
        assert await ledger.totals_of(conn, w.pk["T1"], 2025) == 2


def test_time_zone_spans() -> None:
    from bot.credits.sync import tz_spans

    shanghai = tz_spans("Asia/Shanghai")
    assert shanghai[0] == ("", "+28800 seconds")
    assert shanghai[-1][1] == "+28800 seconds"  # China kept DST only in 1986-1991
    berlin = tz_spans("Europe/Berlin")
    assert ("2026-03-29 01:00:00", "+7200 seconds") in berlin
    assert ("2026-10-25 01:00:00", "+3600 seconds") in berlin


def test_plan_reverses_before_booking() -> None:
    from bot.credits.sync import plan
    from storage.credits import Diff

    actions = plan([
        Diff(1, "a:1", 2026, -2, 0, "2026-03-01", "attendance.absent", "n"),
        Diff(1, "a:1", 2025, 0, 2, None, None, None),
    ])
    assert [type(a).__name__ for a in actions] == ["Reverse", "Book"]


# -- precise change tracking: a scoped sync settles exactly what a full comparison does --------

_STATUSES = ("present", "late", "early_leave", "absent", "excused")
_MEMBERS = ("L1", "T1", "T2")


async def _pick(conn: Any, sql: str, n: int) -> Any:
    """The (n mod count)-th row of `sql` (ordered), or None: the same row in both databases."""
    rows = list(await conn.execute_fetchall(sql))
    return rows[n % len(rows)] if rows else None


async def _apply(w: World, op: tuple[Any, ...]) -> None:
    """One random change of a source (or of an unrelated table), the same on any database."""
    kind, a, b, c = op
    day = NOW + dt.timedelta(days=a % 400 - 380, hours=b % 24)
    member = w.pk[_MEMBERS[b % 3]]
    async with w.db.tx() as conn:
        act = await _pick(conn, "SELECT id FROM activities ORDER BY id", a)
        if kind == "activity":
            await activities_repo.insert(
                conn, activity_id=f"A{a}-{b}-{c}", type="group_study", title=f"活动{c}",
                group_id=1, start_at=ts(day), end_at=ts(day + dt.timedelta(hours=2)),
                location="", lat=None, lon=None, radius_m=None,
                host_pk=member if c % 3 else None, secret="s", source="import",
                created_by=None, now=ts(NOW),
                closed_at=ts(day + dt.timedelta(hours=2)) if c % 2 else None,
            )
        elif act is None:
            return
        elif kind == "check_in":
            await conn.execute(
                "INSERT OR IGNORE INTO attendance (activity_pk, member_pk, status, source,"
                " created_at, updated_at) VALUES (?, ?, ?, 'code', ?, ?)",
                (act[0], member, _STATUSES[c % 5], ts(NOW), ts(NOW)))
        elif kind == "correct":
            await conn.execute(
                "UPDATE attendance SET status = ? WHERE id = (SELECT id FROM attendance"
                " ORDER BY id LIMIT 1 OFFSET ?)", (_STATUSES[c % 5], a % 50))
        elif kind == "check_out":  # no column the ledger reads
            await conn.execute("UPDATE attendance SET checkout_at = ?, note = 'x'", (ts(NOW),))
        elif kind == "forget_record":
            await conn.execute("DELETE FROM attendance WHERE id = (SELECT id FROM attendance"
                               " ORDER BY id LIMIT 1 OFFSET ?)", (a % 50,))
        elif kind == "cancel":
            await activities_repo.cancel(conn, act[0], ts(NOW))
        elif kind == "move":
            await activities_repo.move(conn, act[0], ts(day), ts(day + dt.timedelta(hours=1)),
                                       ts(NOW))
        elif kind == "close":
            await activities_repo.mark_closed(conn, act[0], ts(NOW))
        elif kind == "host":
            await conn.execute("UPDATE activities SET host_pk = ? WHERE id = ?",
                               (member if c % 4 else None, act[0]))
        elif kind == "retitle":
            await conn.execute("UPDATE activities SET title = ? WHERE id = ?", (f"改{c}", act[0]))
        elif kind == "submit":
            await reading_repo.insert(
                conn, member_pk=member, year=2025, kind=("book", "paper", "reflection",
                                                         "management_analysis")[c % 4],
                title=f"书{a}-{c}", title_norm=f"书{a}-{c}", now=ts(day), monograph=bool(b % 2),
                finished_on=day.date().isoformat() if c % 3 else None, body="心得")
        elif kind == "review":
            await conn.execute(
                "UPDATE reading_submissions SET status = ? WHERE id = (SELECT id FROM"
                " reading_submissions ORDER BY id LIMIT 1 OFFSET ?)",
                (("submitted", "accepted", "returned")[c % 3], a % 20))
        elif kind == "report" and await ledger.table_exists(conn, "reports"):
            await conn.execute(
                "INSERT OR IGNORE INTO reports (activity_pk, host_pk, state, submitted_at,"
                " late, recommended_member_pk, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (act[0], member, "submitted" if c % 2 else "draft", ts(day), b % 2,
                 w.pk[_MEMBERS[c % 3]] if c % 3 else None, ts(NOW), ts(NOW)))
        elif kind == "amend" and await ledger.table_exists(conn, "reports"):
            await conn.execute(
                "UPDATE reports SET state = ?, late = ?, recommended_member_pk = ?,"
                " highlights = ? WHERE id = (SELECT id FROM reports ORDER BY id LIMIT 1"
                " OFFSET ?)",
                ("submitted" if c % 3 else "draft", b % 2,
                 w.pk[_MEMBERS[c % 3]] if c % 2 else None, f"h{c}", a % 10))
        elif kind == "exam":
            await exits_repo.upsert_exams(conn, [(member, f"2025S{c % 2 + 1}", 40 + a % 50)],
                                          ts(day))
        elif kind == "unrelated":
            await conn.execute(
                "INSERT INTO outbox (chat_id, kind, payload, status, not_before, attempts,"
                " created_at) VALUES (1, 'x', '{}', 'sent', ?, 1, ?)", (ts(NOW), ts(NOW)))
            await conn.execute("INSERT INTO audit_log (at, action, subject) VALUES (?, 'x', 'y')",
                               (ts(NOW),))


_OPS = ("activity", "activity", "check_in", "check_in", "check_in", "correct", "correct",
        "check_out", "forget_record", "cancel", "move", "close", "host", "host", "retitle",
        "submit", "submit",
        "review", "report", "amend", "exam", "unrelated")


async def _ledger(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute_fetchall(
            "SELECT member_pk, on_date, points, rule, source, note, year FROM credit_ledger"
            " ORDER BY id")]


@pytest.mark.parametrize("seed", range(4))
async def test_a_scoped_sync_settles_what_a_full_comparison_does(
    tmp_path: Path, seed: int
) -> None:
    """Random changes to the sources on two copies: one synced from the change marks, the
    other by full comparisons; their ledgers stay row for row the same."""
    rng = random.Random(seed)
    worlds = []
    for name in ("scoped", "full"):
        (tmp_path / name).mkdir()
        cfg = make_config(tmp_path / name)
        await load_roster(cfg, _ROSTER, NOW)
        db = await open_database(cfg.db_path)
        async with db.read() as conn:
            pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        worlds.append(World(db, cfg, pks))
    scoped, full = worlds
    try:
        cfg = scoped.cfg
        for step in range(60):
            for _ in range(rng.randint(1, 4)):
                op = (rng.choice(_OPS), rng.randrange(10_000), rng.randrange(10_000),
                      rng.randrange(10_000))
                for w in worlds:
                    await _apply(w, op)
            if step == 40:  # new prices: both compare everything
                cfg = cfg.replace(credits=dataclasses.replace(cfg.credits, present=3.0))
            got = await sync(scoped.db, cfg, NOW)
            assert got == await sync(full.db, cfg, NOW, force=True), step
            assert await _ledger(scoped.db) == await _ledger(full.db), step
        assert await sync(scoped.db, cfg, NOW, force=True) == 0
        assert len(await _ledger(scoped.db)) > 20  # the changes did reach the ledger
    finally:
        for w in worlds:
            await w.db.close()


async def test_writes_to_other_tables_cost_the_sync_nothing(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await _activity(w, "A1", NOW - dt.timedelta(days=1))
    await _attend(w, a, "T1", "present")
    assert await sync(w.db, w.cfg, NOW) == 1
    calls: list[bool] = []
    compare = ledger.compare

    async def spy(*args: Any, scoped: bool) -> int:
        calls.append(scoped)
        return await compare(*args, scoped=scoped)

    monkeypatch.setattr(ledger, "compare", spy)
    await _apply(w, ("unrelated", 0, 0, 0))
    await _apply(w, ("check_out", 0, 0, 0))
    async with w.db.tx() as conn:
        await conn.execute("UPDATE reports SET highlights = 'x'")
        await conn.execute("UPDATE activities SET location = '新地点', updated_at = ?", (ts(NOW),))
    assert await sync(w.db, w.cfg, NOW) == 0
    assert calls == []
    # A source change is compared in scope, and only that pair.
    await _attend(w, a, "T2", "late")
    async with w.db.read() as conn:
        marks = list(await conn.execute_fetchall(
            "SELECT prefix, ref, member_pk FROM credit_dirty"))
    assert [tuple(m) for m in marks] == [("attendance:", a, w.pk["T2"])]
    assert await sync(w.db, w.cfg, NOW) == 1
    assert calls == [True]
    # Other rules (here: a migration recorded since) make the next sync compare everything.
    async with w.db.tx() as conn:
        await conn.execute("UPDATE credit_sync_state SET rules = 'older'")
    assert await sync(w.db, w.cfg, NOW) == 0
    assert calls == [True, False]
    async with w.db.read() as conn:
        assert not list(await conn.execute_fetchall("SELECT * FROM credit_dirty"))
    # Many marks (a bulk import): one pass over everything instead, with the same result.
    monkeypatch.setattr(credit_sync, "FULL_ABOVE", 0)
    async with w.db.tx() as conn:
        await attendance_repo.correct(conn, a, w.pk["T1"], "absent", "没来", w.pk["L1"], ts(NOW))
    assert await sync(w.db, w.cfg, NOW) == 2
    assert calls == [True, False, False]
    assert await _total(w, "T1") == -2
