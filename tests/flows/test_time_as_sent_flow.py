"""The flows judge deadlines at `sent_at`, when the member sent the update, and handle it at
`now` (issue 15), on a temporary SQLite, no Telegram: check-in (present or late, the code
current when sent, the time recorded), check-out (early, in the window, after the end), the
leave cutoff, a report's deadline (submitting and amending). Each test handles the update well
after it was sent; `sent_at` later than `now` counts as now."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.activities import checkin, roll_call
from bot.activities.rules import current_code
from bot.activities.scheduling import rules_of
from bot.core.config import Config
from bot.leave import flow as leave_flow
from bot.reports import flow as reports_flow
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from storage.models import Member
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config


def at(hh: int, mm: int, ss: int = 0, day: int = 2) -> dt.datetime:
    return dt.datetime(2026, 3, day, hh, mm, ss, tzinfo=TZ)


REPORT_DUE = at(18, 0, day=3)  # R1 ended Monday 12:00: due the next working day at 18:00


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    members: dict[str, Member]
    pk: dict[str, int]  # activity_id -> activities.id

    async def record(self, member_id: str, activity_id: str = "C1") -> tuple[Any, ...] | None:
        row = await self.db.fetchone(
            "SELECT status, checkin_at, checkout_at FROM attendance"
            " WHERE activity_pk = ? AND member_pk = ?",
            (self.pk[activity_id], self.members[member_id].pk),
        )
        return None if row is None else tuple(row)

    def code(self, when: dt.datetime) -> str:
        return current_code("s", when, rules_of(self.cfg.checkin))


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    """SMALL_ROSTER; C1, everyone's, in person 10:00-12:00 (late after 10:05, check-out from
    11:45); G1, 第一组's at 15:00 (leave until 14:00: a 60-minute cutoff); R1, 第一组's,
    08:00-09:00, hosted by T1, the report to file."""
    cfg = make_config(tmp_path, leave={"cutoff_minutes": 60})
    made = at(8, 0, day=1)
    await load_roster(cfg, SMALL_ROSTER, made)
    db = await open_database(cfg.db_path)
    try:
        async with db.tx() as conn:
            members = {m.member_id: m for m in await members_repo.all_members(conn)}
            group = (await activities_repo.group_ids_by_name(conn))["第一组"]
            pk = {}
            for aid, type_, group_id, start, hours, host in (
                ("C1", "collective", None, at(10, 0), 2, None),
                ("G1", "group_study", group, at(15, 0), 2, members["T1"].pk),
                ("R1", "group_study", group, at(8, 0), 1, members["T1"].pk),
            ):
                pk[aid] = await activities_repo.insert(
                    conn, activity_id=aid, type=type_, title=f"活动{aid}", group_id=group_id,
                    start_at=ts(start), end_at=ts(start + dt.timedelta(hours=hours)),
                    location="会议室", lat=None, lon=None, radius_m=None, host_pk=host,
                    secret="s", source="import", created_by=None, now=ts(made),
                )
            await attendance_repo.check_in(conn, pk["R1"], members["T1"].pk, "present",
                                           ts(at(8, 0)), "code")
        yield World(db, cfg, members, pk)
    finally:
        await db.close()


# -- check-in -------------------------------------------------------------------------------


async def test_a_checkin_sent_before_the_late_mark_is_present_and_dated_when_sent(
    w: World,
) -> None:
    sent, now = at(10, 4, 53), at(10, 36)
    result = await checkin.attempt(w.db, w.cfg, now, w.members["T2"], code=w.code(sent),
                                   sent_at=sent)
    assert result.kind == "recorded" and result.record is not None
    assert (result.record.status, result.record.checkin_at) == ("present", ts(sent))
    assert await w.record("T2") == ("present", ts(sent), None)
    # Sent after the late mark: late, however soon it is handled.
    late = await checkin.attempt(w.db, w.cfg, now, w.members["T3"], code=w.code(at(10, 5, 30)),
                                 sent_at=at(10, 5, 30))
    assert late.kind == "recorded" and await w.record("T3") == ("late", ts(at(10, 5, 30)), None)


async def test_a_checkin_sent_before_the_end_is_recorded_after_it(w: World) -> None:
    sent = at(11, 59)
    result = await checkin.attempt(w.db, w.cfg, at(12, 30), w.members["T2"],
                                   code=w.code(sent), sent_at=sent)
    assert result.kind == "recorded"
    assert await w.record("T2") == ("late", ts(sent), None)
    # Without the time sent (as before): closed.
    refused = await checkin.attempt(w.db, w.cfg, at(12, 30), w.members["T3"], code=w.code(sent))
    assert refused.kind == "closed" and await w.record("T3") is None


async def test_a_sent_at_later_than_now_counts_as_now(w: World) -> None:
    now = at(10, 4)
    result = await checkin.attempt(w.db, w.cfg, now, w.members["T2"], code=w.code(now),
                                   sent_at=at(10, 30))
    assert result.kind == "recorded" and await w.record("T2") == ("present", ts(now), None)


# -- check-out ------------------------------------------------------------------------------


async def test_checkout_is_judged_and_dated_by_the_time_sent(w: World) -> None:
    for member_id in ("T2", "T3"):
        assert (await checkin.attempt(w.db, w.cfg, at(10, 0), w.members[member_id],
                                      code=w.code(at(10, 0)))).kind == "recorded"
    t2, t3 = w.members["T2"].pk, w.members["T3"].pk
    # Sent before the window, handled in it: an early leave, to be confirmed.
    early = await roll_call.check_out(w.db, w.cfg, w.pk["C1"], t2, at(11, 50),
                                      confirmed_early=False, sent_at=at(11, 40))
    assert early.outcome == "confirm_early"
    confirmed = await roll_call.check_out(w.db, w.cfg, w.pk["C1"], t2, at(11, 50),
                                          confirmed_early=True, sent_at=at(11, 40))
    assert confirmed.outcome == "early"
    assert await w.record("T2") == ("early_leave", ts(at(10, 0)), ts(at(11, 40)))
    # Sent in the window, handled after the end.
    ok = await roll_call.check_out(w.db, w.cfg, w.pk["C1"], t3, at(12, 5),
                                   confirmed_early=False, sent_at=at(11, 58))
    assert ok.outcome == "ok"
    assert await w.record("T3") == ("present", ts(at(10, 0)), ts(at(11, 58)))


# -- leave ----------------------------------------------------------------------------------


async def test_leave_sent_before_the_cutoff_is_accepted_after_it(w: World) -> None:
    t2 = w.members["T2"]
    now = at(14, 10)
    checked = await leave_flow.check_ask(w.db, w.cfg, t2, w.pk["G1"], now, "zh",
                                         sent_at=at(13, 59))
    assert checked.outcome == "ok"
    too_late = await leave_flow.check_ask(w.db, w.cfg, t2, w.pk["G1"], now, "zh",
                                          sent_at=at(14, 0))
    assert too_late.outcome == "too_late"
    refused = await leave_flow.submit(w.db, w.cfg, t2.pk, w.pk["G1"], "家中有事", now, "zh",
                                      sent_at=at(14, 1))
    assert refused.outcome == "too_late"
    result = await leave_flow.submit(w.db, w.cfg, t2.pk, w.pk["G1"], "家中有事", now, "zh",
                                     sent_at=at(13, 59))
    assert result.outcome == "ok" and result.request is not None
    row = await w.db.fetchone("SELECT state, late, created_at FROM leave_requests")
    assert row is not None and tuple(row) == ("pending", 0, ts(now))


async def test_withdrawing_an_approved_leave_is_judged_by_the_time_sent(w: World) -> None:
    t2 = w.members["T2"]
    asked = await leave_flow.submit(w.db, w.cfg, t2.pk, w.pk["G1"], "家中有事", at(9, 0), "zh")
    assert asked.request is not None
    decided = await leave_flow.decide(w.db, w.cfg, w.members["L1"].pk, asked.request.id, True,
                                      "", at(9, 5), "zh")
    assert decided.outcome == "ok"
    late, _ = await leave_flow.withdraw(w.db, w.cfg, t2.pk, asked.request.id, at(15, 10),
                                        sent_at=at(15, 0))
    assert late == "too_late"
    done, req = await leave_flow.withdraw(w.db, w.cfg, t2.pk, asked.request.id, at(15, 10),
                                          sent_at=at(14, 59))
    assert done == "ok" and req is not None and req.state == "withdrawn"


# -- reports --------------------------------------------------------------------------------


async def _draft(w: World) -> int:
    """T1's complete draft of R1's report, opened and filled in on Monday afternoon."""
    host, now = w.members["T1"], at(13, 0)
    opened = await reports_flow.open_draft(w.db, w.cfg, host, w.pk["R1"], now)
    assert opened.refusal is None and opened.report is not None and opened.due == REPORT_DUE
    pk = opened.report.pk
    assert await reports_flow.save_fields(w.db, w.cfg, pk, {
        "studied": "学习了《给教师的建议》", "highlights": "讨论热烈", "stated_headcount": 1},
        now)
    await reports_flow.add_photo(
        w.db, pk, rel_path="reports/R1/p0.jpg", file_id="f0", unique_id="u0", file_size=1000,
        media_group_id=None, staged=False, now=now)
    return pk


async def test_a_report_sent_before_its_deadline_is_on_time_and_may_be_amended(
    w: World,
) -> None:
    host = w.members["T1"]
    pk = await _draft(w)
    sent, now = REPORT_DUE - dt.timedelta(minutes=1), REPORT_DUE + dt.timedelta(minutes=20)
    result = await reports_flow.submit(w.db, w.cfg, host, pk, now, sent_at=sent)
    assert result.refusal is None and not result.late, result
    row = await w.db.fetchone("SELECT submitted_at, late FROM reports WHERE id = ?", (pk,))
    assert row is not None and tuple(row) == (ts(sent), 0)
    # An amendment begun before the deadline, handled after it, is allowed; one begun after
    # it is not.
    refused = await reports_flow.start_amendment(w.db, w.cfg, host, pk, now, sent_at=now)
    assert refused.refusal == "deadline_passed"
    begun = await reports_flow.start_amendment(w.db, w.cfg, host, pk, now, sent_at=sent)
    assert begun.refusal is None


async def test_a_report_sent_after_its_deadline_is_late(w: World) -> None:
    host = w.members["T1"]
    pk = await _draft(w)
    sent = REPORT_DUE + dt.timedelta(minutes=1)
    result = await reports_flow.submit(w.db, w.cfg, host, pk, sent + dt.timedelta(hours=1),
                                       sent_at=sent)
    assert result.refusal is None and result.late
