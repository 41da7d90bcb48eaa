"""/report while the host's activity is still running: not "nothing to report" but when the
report opens (the activity's end) and its deadline; once it has ended, the usual pick."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import TZ, Harness, import_schedule, said, text_of

# 第一组: a Friday activity hosted by T1; its report is due Monday 9 March 18:00.
G1 = "G1,group_study,读书交流,第一组,2026-03-06 10:00,2026-03-06 12:00,会议室,,,T1"
DEADLINE = text_of("reports.deadline", month=text_of("reports.month.3"), day=9,
                   weekday=text_of("reports.weekday.0"), time="18:00")


@pytest.fixture
async def h(h: Harness) -> Harness:
    await import_schedule(h, G1)
    return h


async def test_report_while_running_says_when_it_opens(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    h.clock.set(dt.datetime(2026, 3, 6, 11, 0, tzinfo=TZ))  # an hour into the activity
    answer = await host.ask("/report")
    assert said(answer.text, "reports.list.running", title="读书交流", ends="12:00",
                deadline=DEADLINE)
    assert not said(answer.text, "reports.list.nothing")
    assert answer.buttons == []
    # Once it has ended, the report opens as the message said.
    h.clock.set(dt.datetime(2026, 3, 6, 12, 0, tzinfo=TZ))
    await h.tick()
    offer = await host.ask("/report")
    assert said(offer.text, "reports.list.pick")


async def test_someone_else_s_running_activity_is_not_theirs_to_report(h: Harness) -> None:
    other = await h.register("T2")
    await h.flush()
    h.clock.set(dt.datetime(2026, 3, 6, 11, 0, tzinfo=TZ))
    answer = await other.ask("/report")
    assert said(answer.text, "reports.list.nothing")
