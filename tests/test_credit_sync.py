"""The ledger reconciliation on a real database: entries from the sources, idempotence, and
reversal by counter-entries (a corrected roll call, a returned submission, a cancelled activity,
changed points); hand adjustments untouched; a missing source table skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.credit_sync import Book, Reverse, Want, reconcile, sync
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
    assert (await _total(w, "T1"), await _total(w, "T2")) == (5, 0)
    cfg = w.cfg.replace(exit=dataclasses.replace(w.cfg.exit, exam_pass_mark=50.0))
    await sync(w.db, cfg, NOW)
    assert (await _total(w, "T1"), await _total(w, "T2")) == (5, 5)


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
    assert (await _total(w, "T1"), await _total(w, "T2")) == (2, 3)


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
    cfg = w.cfg.replace(credits=dataclasses.replace(w.cfg.credits, year_starts="09-01"))
    for aid, day in (("A1", dt.datetime(2025, 8, 31, 9, tzinfo=TZ)),
                     ("A2", dt.datetime(2025, 9, 1, 9, tzinfo=TZ))):
        await _attend(w, await _activity(w, aid, day), "T1", "present")
    await sync(w.db, cfg, NOW)
    async with w.db.read() as conn:
        assert await ledger.totals_of(conn, w.pk["T1"], 2024) == 2
        assert await ledger.totals_of(conn, w.pk["T1"], 2025) == 2


def test_time_zone_spans() -> None:
    from bot.credit_sync import tz_spans

    shanghai = tz_spans("Asia/Shanghai")
    assert shanghai[0] == ("", "+28800 seconds")
    assert shanghai[-1][1] == "+28800 seconds"  # China kept DST only in 1986-1991
    berlin = tz_spans("Europe/Berlin")
    assert ("2026-03-29 01:00:00", "+7200 seconds") in berlin
    assert ("2026-10-25 01:00:00", "+3600 seconds") in berlin


def test_plan_reverses_before_booking() -> None:
    from bot.credit_sync import plan
    from storage.credits import Diff

    actions = plan([
        Diff(1, "a:1", 2026, -2, 0, "2026-03-01", "attendance.absent", "n"),
        Diff(1, "a:1", 2025, 0, 2, None, None, None),
    ])
    assert [type(a).__name__ for a in actions] == ["Reverse", "Book"]
