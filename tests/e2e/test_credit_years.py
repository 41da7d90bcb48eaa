"""Issue 16 on the moved clock: a programme year is decided `[exit] decide_after_days` after it
ends; until then its rule-1 proposals follow corrections (withdrawn, updated, new — HR and the
member told), hand adjustments go into it (`/adjust --year`), and after it its totals are
frozen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiosqlite
import pytest

from bot.activities import roll_call
from bot.documents.imports import ImportSession
from bot.documents.tables import read_table
from bot.members.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_roster, validate_roster
from bot.members.invites import ensure_invites
from storage import attendance as attendance_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage import reports as reports_repo
from storage.db import ts
from tests.e2e.test_credits import hr_notice, import_rows, proposals, seed_activity
from tests.helpers import (
    SMALL_ROSTER,
    TZ,
    Harness,
    activity,
    import_schedule,
    member,
    said,
)

NEW_YEAR = dt.datetime(2027, 1, 1, 0, 1, tzinfo=TZ)


async def _year_2026(h: Harness) -> int:
    """T2 absent, everyone else present at one 2026 activity; the year ends: T2 proposed."""
    pk = await seed_activity(h, {"T1": "present", "T2": "absent", "L1": "present",
                                 "T3": "present", "L2": "present"})
    await h.tick()
    h.clock.set(NEW_YEAR)
    await h.tick()
    [p] = await proposals(h)
    assert (p.rule, p.period, p.evidence["total"], p.evidence["line"]) == (
        "credits", "2026", -2, 0.72)
    return pk


async def test_a_correction_on_4_january_withdraws_and_proposes(h: Harness) -> None:
    hr = await h.register("H1")
    t1 = await h.register("T1")
    t2 = await h.register("T2")
    activity_pk = await _year_2026(h)
    first = await hr_notice(h, hr, "邹立新")
    # 4 January: the roll call is corrected — T2 was there, T1 was not.
    h.clock.set(dt.datetime(2027, 1, 4, 10, 0, tzinfo=TZ))
    hr_pk = (await member(h, "H1")).pk
    for who, status in (("T2", "present"), ("T1", "absent")):
        done = await roll_call.correct(h.services.db, h.config, hr_pk, activity_pk,
                                       (await member(h, who)).pk, status, "更正", h.clock.now())
        assert done.outcome == "ok", done
    await h.tick()
    [withdrawn] = await proposals(h, "withdrawn")
    assert withdrawn.member_pk == (await member(h, "T2")).pk
    [new] = await proposals(h)
    assert (new.member_pk, new.period) == ((await member(h, "T1")).pk, "2026")
    assert (new.evidence["total"], new.evidence["line"]) == (-2, 0.72)
    # Both notified: HR of the withdrawal and of the new proposal, T2 of the withdrawal; the
    # first notice's buttons are gone.
    await h.flush()
    assert any(said(m.text, "credits.exit.withdrawn_hr", name="邹立新", year="2026")
               for m in hr.messages())
    assert said((await hr_notice(h, hr, "黄志强")).text, "credits.exit.evidence.credits",
                year=2026, total=-2, line="0.72")
    assert said(t2.last().text, "credits.exit.withdrawn_member", year="2026")
    assert not any(said(m.text, "credits.exit.withdrawn_member") for m in t1.messages())
    edited = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == first.message_id and said(
            e.text, "credits.exit.withdrawn"), after=first.message_id - 1)
    assert edited.buttons == []


async def test_changed_evidence_is_shown_on_the_card(h: Harness) -> None:
    hr = await h.register("H1")
    activity_pk = await _year_2026(h)
    notice = await hr_notice(h, hr, "邹立新")
    # T1 absent too: T2 is still below, on a lower line (0.6 x 2/5 = 0.24).
    h.clock.set(dt.datetime(2027, 1, 5, 9, 0, tzinfo=TZ))
    done = await roll_call.correct(h.services.db, h.config, (await member(h, "H1")).pk,
                                   activity_pk, (await member(h, "T1")).pk, "absent", "更正",
                                   h.clock.now())
    assert done.outcome == "ok"
    await h.tick()
    t2_pk = (await member(h, "T2")).pk
    [p] = [x for x in await proposals(h) if x.member_pk == t2_pk]
    assert p.evidence["line"] == 0.24 and p.evidence_changed_at is not None
    edited = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == notice.message_id and said(
            e.text, "credits.exit.evidence_changed", when="01-05 09:00"),
        after=notice.message_id - 1)
    assert edited.buttons  # still to be decided


async def test_adjust_into_last_year_until_it_is_decided(h: Harness) -> None:
    hr = await h.register("H1")
    await h.register("T2")
    await _year_2026(h)
    h.clock.set(dt.datetime(2027, 1, 8, 9, 0, tzinfo=TZ))
    await h.flush()  # the digests and notices queued so far first
    reply = await hr.ask("/adjust --year 2026 T2 +5 补记12月读书交流")
    assert said(reply.text, "credits.adjust.done", year=2026, total=3), reply.text
    t2, t3 = (await member(h, "T2")).pk, (await member(h, "T3")).pk
    async with h.services.db.read() as conn:
        assert await ledger.totals_of(conn, t2, 2026) == 3
        assert await ledger.totals_of(conn, t2, 2027) == 0
    await h.tick()
    assert await proposals(h) == []  # 3 is above the new line, 0.6 x 11/5 = 1.32: withdrawn
    assert len(await proposals(h, "withdrawn")) == 1
    assert said((await hr.ask("/adjust --year 2028 T2 +3 x")).text, "credits.adjust.year_future",
                year=2028)
    assert said((await hr.ask("/adjust --year 20x6 T2 +3 x")).text, "credits.adjust.bad_year")
    # Decided on 16 January: frozen, also for the reconciliation.
    h.clock.set(dt.datetime(2027, 1, 16, 0, 1, tzinfo=TZ))
    await h.tick()
    async with h.services.db.read() as conn:
        assert await exits_repo.year_closed(conn, 2026)
    await h.flush()
    refused = await hr.ask("/adjust --year 2026 T2 +3 又补记")
    assert said(refused.text, "credits.adjust.year_decided", year=2026, date="2027-01-16")
    pk = next(iter(await _activities(h)))
    done = await roll_call.correct(h.services.db, h.config, (await member(h, "H1")).pk, pk,
                                   t3, "absent", "更正", h.clock.now())
    assert done.outcome == "ok"
    await h.tick()
    async with h.services.db.read() as conn:
        assert await ledger.totals_of(conn, t3, 2026) == 2


async def _activities(h: Harness) -> list[int]:
    async with h.services.db.read() as conn:
        return [int(r[0]) for r in await conn.execute_fetchall("SELECT id FROM activities")]


async def test_the_autumn_exam_imported_in_january_counts_in_the_old_year(
    h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command line reads the wall clock: here it reads the moved one.
    monkeypatch.setattr(ImportSession, "now", lambda self: h.clock.now())
    hr = await h.register("H1")
    await _year_2026(h)
    h.clock.set(dt.datetime(2027, 1, 10, 9, 0, tzinfo=TZ))
    assert await import_rows(h, tmp_path, "exams", "member_id,semester,score\nT2,2026S2,85\n") == 0
    await h.tick()
    t2 = (await member(h, "T2")).pk
    async with h.services.db.read() as conn:
        assert (await ledger.totals_of(conn, t2, 2026), await ledger.totals_of(conn, t2, 2027)) \
            == (-2 + 5, 0)
        [entry] = [e for e in await ledger.member_entries(conn, t2, 2026)
                   if e.rule == "exam.passed"]
    assert entry.on_date == "2026-12-31"  # the import's day lies after the year: its last day
    # Above the line now (0.6 x 11/5 = 1.32): the proposal is withdrawn, HR told.
    assert await proposals(h) == []
    await h.flush()
    assert any(said(m.text, "credits.exit.withdrawn_hr", name="邹立新") for m in hr.messages())
    # Re-marked on 12 January (a fail): reversed within 2026, and proposed again.
    h.clock.set(dt.datetime(2027, 1, 12, 9, 0, tzinfo=TZ))
    assert await import_rows(h, tmp_path, "exams", "member_id,semester,score\nT2,2026S2,50\n") == 0
    await h.tick()
    async with h.services.db.read() as conn:
        assert (await ledger.totals_of(conn, t2, 2026), await ledger.totals_of(conn, t2, 2027)) \
            == (-2, 0)
    [p] = await proposals(h)
    assert (p.period, p.evidence["total"]) == ("2026", -2)


async def test_a_semester_must_say_which(h: Harness, tmp_path: Path) -> None:
    assert await import_rows(h, tmp_path, "exams",
                             "member_id,semester,score\nT2,2026秋,85\nT1,2026s1,70\n") == 2


async def test_a_schedule_imported_after_its_activities_ended_earns_and_asks_nothing(
    h: Harness,
) -> None:
    hr = await h.register("H1")
    t1 = await h.register("T1")
    # Imported on 2 March at 09:00: two group studies of February are over, one is to come.
    await import_schedule(
        h,
        "P1,group_study,读书交流,第一组,2026-02-10 10:00,2026-02-10 12:00,会议室,,,T1",
        "P2,group_study,读书交流,第二组,2026-02-24 10:00,2026-02-24 12:00,会议室,,,T3",
        "F1,group_study,读书交流,第一组,2026-03-09 10:00,2026-03-09 12:00,会议室,,,T1",
    )
    await h.tick()
    async with h.services.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT COUNT(*) FROM credit_ledger")
        due = await reports_repo.reportable(conn, ended_by=ts(h.clock.now()))
    assert next(iter(rows))[0] == 0 and due == []
    # The host is not asked for a report of P1 either.
    await h.flush()
    answer = await t1.ask("/report")
    assert said(answer.text, "reports.list.nothing") or said(
        answer.text, "reports.list.nothing_next"), answer.text
    # The upcoming one, held under the bot, earns its host the credit as before.
    h.clock.set(dt.datetime(2026, 3, 9, 9, 45, tzinfo=TZ))
    f1 = (await activity(h, "F1")).pk
    async with h.services.db.tx() as conn:
        await attendance_repo.check_in(conn, f1, (await _pk(conn, "T2")), "present",
                                       ts(h.clock.now()), "code")
    h.clock.set(dt.datetime(2026, 3, 9, 13, 0, tzinfo=TZ))
    await h.tick()
    t1_pk = (await member(h, "T1")).pk
    async with h.services.db.read() as conn:
        hosted = [e for e in await ledger.member_entries(conn, t1_pk, 2026) if e.rule == "host"]
        due = await reports_repo.reportable(conn, ended_by=ts(h.clock.now()))
    assert [e.source for e in hosted] == [f"host:{f1}"]
    assert [d.activity_id for d in due] == ["F1"]
    del hr


async def _pk(conn: aiosqlite.Connection, member_id: str) -> int:
    found = await members_repo.by_member_id(conn, member_id)
    assert found is not None
    return found.pk


async def test_a_november_joiner_is_not_judged_on_the_whole_year(
    h: Harness, tmp_path: Path
) -> None:
    hr = await h.register("H1")
    everyone = {m: "present" for m in ("T1", "T2", "L1", "T3", "L2")}
    await seed_activity(h, everyone, days_ago=3)
    await seed_activity(h, everyone, days_ago=2)
    # 20 November: T4 joins (the roster imported again with one more line) and registers.
    h.clock.set(dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    path = tmp_path / "roster2.csv"
    path.write_text(SMALL_ROSTER + "T4,林新,trainee,第一组,新华小学,小学\n", encoding="utf-8")
    entries, problems = validate_roster(
        read_table(path, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS))
    assert not problems
    await import_roster(h.services.db, entries, h.clock.now())
    codes = {i.member_id: i.code for i in await ensure_invites(h.services.db, h.clock.now())}
    t4 = h.new_user("T4")
    assert said((await t4.ask(f"/start {codes['T4']}")).text, "register.welcome")
    # 25 November: one more activity; T4 earns 2, everyone else 6 (line 0.6 x 6 = 3.6).
    await seed_activity(h, {**everyone, "T4": "present"}, days_ago=-268)
    await h.tick()
    await h.flush()
    ranking = await hr.ask("/ranking")
    notes = await hr.next_message()
    assert said(notes.text, "credits.at_risk_none"), notes.text
    assert said(notes.text, "credits.joined_late_line", name="林新", date="11-20")
    # The year ends: T4 (2 < 3.6) is not proposed against the whole year's line.
    h.clock.set(NEW_YEAR)
    await h.tick()
    assert await proposals(h) == []
    del ranking


async def test_never_registered_members_are_not_at_risk(h: Harness) -> None:
    hr = await h.register("H1")
    await h.register("T1")
    await seed_activity(h, {"T1": "present", "T2": "absent"})  # T2 never registered
    await h.flush()
    await hr.ask("/ranking")
    notes = await hr.next_message()
    assert said(notes.text, "credits.at_risk_none"), notes.text
    assert said(notes.text, "credits.not_registered_line", name="邹立新")
    assert not said(notes.text, "credits.at_risk_line", name="邹立新")


async def test_exits_shows_each_proposal_once_and_a_decision_updates_every_copy(
    h: Harness, tmp_path: Path
) -> None:
    hr = await h.register("H1")
    await h.register("T2")
    await h.flush()
    assert await import_rows(h, tmp_path, "satisfaction",
                             "member_id,year,percent\nT2,2025,75%\n") == 0
    before = len(hr.messages())
    # /exits runs the evaluation itself: the new proposal is shown once (its notice).
    listing = await hr.ask("/exits")
    assert said(listing.text, "credits.exit.header", count=1)
    await h.flush()
    cards = [m for m in hr.messages()[before:] if m.buttons]
    assert len(cards) == 1 and said(cards[0].text, "credits.exit.evidence.satisfaction")
    # Asked again later: a copy to decide from; dismissing it edits the first notice too.
    await hr.ask("/exits")
    copy = await hr.next_message()
    assert copy.buttons and copy.message_id != cards[0].message_id
    answer = await hr.press(copy, "✖️ 不予退出")
    assert said(answer.text, "credits.exit.answer_dismissed")
    await h.flush()
    edited = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == cards[0].message_id and said(
            e.text, "credits.exit.outcome_dismissed", by="周敏"),
        after=cards[0].message_id - 1)
    assert edited.buttons == []
