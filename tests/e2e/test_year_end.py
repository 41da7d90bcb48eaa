"""Issue 16 on the moved clock, end to end: the report of an activity on 31 December 2026 is due
on Monday 4 January 2027 (New Year's Day counts though 2027's make-up days are not published),
HR's digest says once that 2027's 调休 schedule is missing, and a member who registers in
December gets no reading nudge that week while one who has been in all year does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.core.clock import ManualClock
from bot.sandbox.client import SandboxUser
from storage.db import ts
from tests.helpers import TZ, import_schedule, running_bot, said, text_of

YEAR_END = "D1,group_study,年终读书交流,第一组,2026-12-31 10:00,2026-12-31 12:00,会议室,,,T1"
NOTICE_2027 = text_of("digest.calendar.unscheduled", year=2027)


def at(month: int, day: int, hh: int, mm: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hh, mm, tzinfo=TZ)


def deadline_zh(month: int, day: int, weekday: int) -> str:
    return text_of("reports.deadline", month=text_of(f"reports.month.{month}"), day=day,
                   weekday=text_of(f"reports.weekday.{weekday}"), time="18:00")


def said_any(user: SandboxUser, key: str, **params: object) -> list[str]:
    return [m.text for m in user.messages() if m.text and said(m.text, key, **params)]


async def test_report_of_31_december_is_due_on_4_january_and_hr_is_told_once(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, clock=ManualClock(at(12, 20, 10))) as h:
        host = await h.register("T1")
        hr = await h.register("H1")
        await import_schedule(h, YEAR_END)
        await h.tick()  # Sunday 20 December: the digest's baseline
        h.clock.set(at(12, 21, 8, 30))
        await h.tick()  # Monday: the first HR digest after installation
        h.clock.set(at(12, 22, 8, 30))
        await h.tick()
        digests = [m.text or "" for m in hr.messages() if "人事日报" in (m.text or "")]
        assert len(digests) >= 2
        assert sum(NOTICE_2027 in d for d in digests) == 1
        assert NOTICE_2027 in digests[0]

        h.clock.set(at(12, 31, 12, 0))
        await h.tick()  # the activity ends
        due = deadline_zh(1, 4, 0)  # Monday 4 January, not New Year's Day
        assert said_any(host, "reports.remind.ended", title="年终读书交流", deadline=due)
        assert not said_any(host, "reports.remind.ended", deadline=deadline_zh(1, 1, 4))
        count = len(host.messages())
        h.clock.set(at(1, 1, 9, 0, year=2027))
        await h.tick()  # New Year's Day: no "due today" morning reminder
        h.clock.set(at(1, 3, 9, 0, year=2027))
        await h.tick()
        assert len(host.messages()) == count
        h.clock.set(at(1, 4, 9, 0, year=2027))
        await h.tick()
        assert said(host.last().text, "reports.remind.morning", title="年终读书交流",
                    deadline=due)


async def test_a_member_who_registers_in_december_gets_no_nudge_that_week(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, clock=ManualClock(at(11, 30, 20))) as h:
        veteran = await h.register("T2")
        # T2 has been in since last year: 5 books behind by 1 December.
        async with h.services.db.tx() as conn:
            await conn.execute("UPDATE members SET registered_at = ? WHERE member_id = 'T2'",
                               (ts(at(12, 1, 9, year=2025)),))
        h.clock.set(at(12, 2, 10))
        newcomer = await h.register("T1")
        for day in range(2, 10):
            h.clock.set(at(12, day, 11))
            await h.tick()
        assert newcomer.messages() and not [
            m for m in newcomer.messages() if "读书小提醒" in (m.text or "")]
        [nudge] = [m.text for m in veteran.messages() if "读书小提醒" in (m.text or "")]
        assert said(nudge, "reading.nudge.text", expected=5, books=0, behind=5)
        # No catalog is imported: the nudge does not claim every required book is logged.
        assert text_of("reading.nudge.no_catalog") in (nudge or "")
        assert text_of("reading.nudge.no_suggestion") not in (nudge or "")
