"""Leave end to end through the sandbox: routing per activity type and for a leader's own leave,
the cutoff, approve, reject with a reason, two approvers at once, forged presses, withdrawal,
check-in after approval, reminders and escalation, a restart between request and decision,
HR's after-the-fact excuse, /leaves, HR's pending list and the export."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from bot.activities.rules import current_code
from bot.activities.scheduling import rules_of
from bot.cli import main
from bot.core import pending
from bot.delivery.inbox import Inbox
from bot.documents.exports import ExportFilter, exporters, write_csv
from bot.sandbox.client import Entry, SandboxUser
from storage import activities as activities_repo
from tests.helpers import (
    SMALL_ROSTER,
    TZ,
    Harness,
    edited,
    import_schedule,
    restart,
    running_bot,
    said,
    text_of,
)

SCHEDULE = (
    "G1,group_study,读书交流,第一组,2026-03-02 15:00,2026-03-02 17:00,会议室,,,T1",
    "G2,group_study,课例研讨,第二组,2026-03-02 15:00,2026-03-02 17:00,二组会议室,,,T3",
    "C1,collective,集中培训,,2026-03-03 09:00,2026-03-03 11:00,礼堂,,,",
    "E1,exam,学期考试,,2026-03-04 09:00,2026-03-04 11:00,考场,,,",
    "O1,online,线上讲座,,2026-03-04 19:00,2026-03-04 20:00,,,,",
)
TWO_HR = SMALL_ROSTER + "H2,孙丽,hr,,教育局人事科,\n"
FORGED = text_of("error.forged")
DECIDE = [text_of("leave.btn.approve"), text_of("leave.btn.reject")]
EXPORT_COLUMNS = ("request_id,member_id,name,group,activity_id,title,start,status,reason,"
                  "decided_by,decided_at,late")


def at(day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hh, mm, tzinfo=TZ)


async def request(h: Harness, user: SandboxUser, activity_id: str, reason: str) -> Entry:
    """/leave <activity>, the reason, the confirming tap; the confirmation as edited."""
    prompt = await user.ask(f"/leave {activity_id}")
    assert said(prompt.text, "leave.ask.reason"), prompt.text
    confirm = await user.ask(reason)
    assert said(confirm.text, "leave.ask.confirm") and reason in confirm.text
    await user.press(confirm, "✅ 确认提交")
    done = await edited(h, confirm)
    await h.flush()
    return done


async def card(user: SandboxUser, number: int | None = None) -> Entry:
    """The next leave card (with its buttons) in the user's chat."""
    head = f"请假申请 #{number}" if number else "请假申请 #"
    return await user.next_message(predicate=lambda e: head in e.text and bool(e.buttons))


async def state(h: Harness, request_id: int = 1) -> tuple[str, str | None, int]:
    row = await h.services.db.fetchone(
        "SELECT r.state, m.member_id, r.late FROM leave_requests r"
        " LEFT JOIN members m ON m.id = r.decided_by WHERE r.id = ?", (request_id,),
    )
    assert row is not None
    return str(row[0]), row[1], int(row[2])


async def count_requests(h: Harness) -> int:
    row = await h.services.db.fetchone("SELECT COUNT(*) FROM leave_requests")
    assert row is not None
    return int(row[0])


async def record(h: Harness, member_id: str, activity_id: str) -> str | None:
    row = await h.services.db.fetchone(
        "SELECT r.status FROM attendance r JOIN activities a ON a.id = r.activity_pk"
        " JOIN members m ON m.id = r.member_pk WHERE a.activity_id = ? AND m.member_id = ?",
        (activity_id, member_id),
    )
    return None if row is None else str(row[0])


def leave_cards(user: SandboxUser) -> list[Entry]:
    return [e for e in user.messages() if "请假申请 #" in e.text and "📝" in e.text]


@pytest.fixture
async def h(h: Harness) -> Harness:
    """The shared bot (tests/conftest.py) with SCHEDULE imported."""
    await import_schedule(h, *SCHEDULE)
    return h


# -- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requester", "activity_id", "approver", "not_told"),
    [
        ("T1", "G1", "L1", "H1"),  # group study: the group's leader
        ("T1", "C1", "H1", "L1"),  # collective training: HR
        ("T3", "E1", "H1", "L2"),  # exam: HR
        ("T2", "O1", "H1", "L1"),  # online: HR
        ("L1", "G1", "H1", "L2"),  # a leader's own leave for the group's activity: HR
    ],
)
async def test_routing(
    h: Harness, requester: str, activity_id: str, approver: str, not_told: str
) -> None:
    deciders = {m: await h.register(m) for m in (approver, not_told)}
    user = await h.register(requester)
    done = await request(h, user, activity_id, "家中有事")
    assert said(done.text, "leave.ask.sent", id=1)
    expected = (text_of("leave.contact.leader", name="罗宏伟") if approver == "L1"
                else text_of("leave.contact.hr"))
    assert said(done.text, "leave.ask.sent", approver=expected)
    got = await card(deciders[approver], 1)
    assert got.button_texts == DECIDE
    assert "家中有事" in got.text and said(got.text, "leave.msg.count", count=0)
    assert leave_cards(deciders[not_told]) == []


async def test_group_without_an_active_leader_goes_to_hr(h: Harness) -> None:
    async with h.services.db.tx() as conn:
        await conn.execute("UPDATE members SET active = 0 WHERE member_id = 'L2'")
    hr = await h.register("H1")
    user = await h.register("T3")
    done = await request(h, user, "G2", "出差")
    assert said(done.text, "leave.ask.sent", approver=text_of("leave.contact.hr"))
    await card(hr, 1)


# -- the cutoff ----------------------------------------------------------------------------------


async def test_too_late_is_refused_and_names_whom_to_contact(tmp_path: Path) -> None:
    async with running_bot(tmp_path, leave={"cutoff_minutes": 60}) as h:
        await import_schedule(h, *SCHEDULE)
        user = await h.register("T1")
        h.clock.set(at(2, 14, 0))  # G1 starts 15:00: the deadline is 14:00
        reply = await user.ask("/leave G1")
        assert said(
            reply.text,
            "leave.ask.too_late",
            deadline="03-02 14:00",
            contact=text_of("leave.contact.leader", name="罗宏伟"),
        )
        h.clock.set(at(3, 8, 30))
        reply = await user.ask("/leave C1")
        assert said(
            reply.text,
            "leave.ask.too_late",
            contact=text_of("leave.contact.hr_named", names="周敏"),
        )
        # Picked in time, confirmed too late: refused on the confirming tap.
        h.clock.set(at(2, 13, 58))
        await user.ask("/leave G1")
        confirm = await user.ask("身体不适")
        h.clock.set(at(2, 14, 0))
        await user.press(confirm, "✅ 确认提交")
        refused = await edited(h, confirm)
        assert said(refused.text, "leave.ask.too_late")
        assert await count_requests(h) == 0


async def test_a_reason_over_the_limit_is_refused(h: Harness) -> None:
    user = await h.register("T1")
    await user.ask("/leave G1")
    reply = await user.ask("很" * 501)
    assert said(reply.text, "leave.ask.too_long", limit=500) and "501" in reply.text
    confirm = await user.ask("很" * 500)  # still asked: exactly the limit is fine
    assert said(confirm.text, "leave.ask.confirm")


async def test_pick_from_the_list(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    menu = await user.ask("/leave")
    assert said(menu.text, "leave.ask.pick")
    assert any("读书交流" in b for b in menu.button_texts)
    assert not any("课例研讨" in b for b in menu.button_texts)  # the other group's
    await user.press(menu, next(b for b in menu.button_texts if "读书交流" in b))
    await user.next_message(predicate=lambda e: said(e.text, "leave.ask.reason"))
    confirm = await user.ask("孩子生病")
    await user.press(confirm, "✅ 确认提交")
    await edited(h, confirm)
    await h.flush()
    await card(leader, 1)
    menu = await user.ask("/leave")
    assert any(said(
        b, "leave.ask.marked", state=text_of("leave.state.pending")
    ) for b in menu.button_texts)


# -- deciding ------------------------------------------------------------------------------------


async def test_approve(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    got = await card(leader, 1)
    answer = await leader.press(got, "批准")
    assert answer.text == "已批准" and not answer.show_alert
    shown = await edited(h, got)
    assert said(shown.text, "leave.outcome.approved", by="罗宏伟", at="03-02 09:00")
    assert shown.buttons == []
    await h.flush()
    notice = await user.next_message(predicate=lambda e: said(e.text, "leave.notice.approved"))
    assert "#1" in notice.text and "读书交流" in notice.text and "罗宏伟" in notice.text
    assert await state(h) == ("approved", "L1", 0)
    upcoming = await user.ask("/upcoming")
    assert said(
        upcoming.text, "attendance.upcoming.leave", status=text_of("attendance.leave.approved")
    )
    # The roll call closes: excused, not absent.
    h.clock.set(at(2, 17, 0))
    await h.tick()
    assert await record(h, "T1", "G1") == "excused"
    assert await record(h, "T2", "G1") == "absent"


async def test_a_press_replayed_after_telegram_forgot_it_still_decides(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader's press the inbox had stored when the process died, replayed after Telegram's
    answer window closed: answering it fails ("query is too old"), the decision is made all
    the same and the card and the trainee show it."""
    leader = await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    got = await card(leader, 1)
    stored = asyncio.Event()
    monkeypatch.setattr(Inbox, "dispatch", lambda self, update: stored.set())
    data = next(value for text, value in got.buttons if text == "批准")
    entry, _ = h.sandbox.inject_callback(leader, got, data, "批准")
    await asyncio.wait_for(stored.wait(), 10)
    monkeypatch.undo()
    assert await state(h) == ("pending", None, 0)
    assert entry.callback_query_id is not None
    h.sandbox.forget_query(entry.callback_query_id)  # Telegram's answer window has passed
    await restart(h)
    shown = await edited(h, got)
    assert said(shown.text, "leave.outcome.approved", by="罗宏伟", at="03-02 09:00")
    assert shown.buttons == []
    assert await state(h) == ("approved", "L1", 0)
    await h.flush()
    notice = await user.next_message(predicate=lambda e: said(e.text, "leave.notice.approved"))
    assert "#1" in notice.text
    assert not any(said(e.text, "error.apology") for e in leader.messages())


async def test_reject_with_a_reason(h: Harness) -> None:
    hr = await h.register("H1")
    user = await h.register("T1")
    await request(h, user, "C1", "想休息")
    got = await card(hr, 1)
    await hr.press(got, "驳回")
    question = await hr.next_message(predicate=lambda e: said(e.text, "leave.decide.ask_reason"))
    assert question.button_texts == [text_of("leave.btn.no_reason")]
    reply = await hr.ask("集中培训不能缺席")
    assert reply.text == "已驳回"
    shown = await edited(h, got)
    assert said(
        shown.text,
        "leave.outcome.rejected_reason",
        by="周敏",
        at="03-02 09:00",
        note="集中培训不能缺席",
    )
    await h.flush()
    notice = await user.next_message(predicate=lambda e: said(
        e.text, "leave.notice.rejected_reason"
    ))
    assert said(notice.text, "leave.notice.rejected_reason", note="集中培训不能缺席")
    assert await state(h) == ("rejected", "H1", 0)
    mine = await user.ask("/leaves")
    assert "#1" in mine.text
    assert said(mine.text, "leave.state.rejected")
    assert "集中培训不能缺席" in mine.text


async def test_reject_without_a_reason(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T2")
    await request(h, user, "G1", "私事")
    got = await card(leader, 1)
    await leader.press(got, "驳回")
    question = await leader.next_message(predicate=lambda e: said(
        e.text, "leave.decide.ask_reason"
    ))
    answer = await leader.press(question, "不填理由，直接驳回")
    assert answer.text == "已驳回"
    shown = await edited(h, got)
    assert said(shown.text, "leave.outcome.rejected", by="罗宏伟", at="03-02 09:00")
    assert "理由" not in shown.text.split(
        "驳回")[-1]
    assert await state(h) == ("rejected", "L1", 0)


async def test_two_approvers_at_once_make_one_decision(tmp_path: Path) -> None:
    async with running_bot(tmp_path, roster=TWO_HR) as h:
        await import_schedule(h, *SCHEDULE)
        first, second = await h.register("H1"), await h.register("H2")
        user = await h.register("T1")
        await request(h, user, "C1", "家中有事")
        one, two = await card(first, 1), await card(second, 1)
        # Approve and Reject at once: Reject only asks for a reason, so the approval stands
        # and the reason typed afterwards finds the request decided.
        _, rejecting = await asyncio.gather(first.press(one, "批准"), second.press(two, "驳回"))
        if rejecting.show_alert:  # the approval came first
            assert (rejecting.text or "").startswith(
                text_of("leave.decide.already", outcome="✅ 周敏"))
        else:
            await second.next_message(predicate=lambda e: said(e.text, "leave.decide.ask_reason"))
            late = await second.ask("不同意")
            assert late.text.startswith(text_of("leave.decide.already", outcome="✅ 周敏"))
        assert await state(h, 1) == ("approved", "H1", 0)
        # Both approve at once: one decision, the other presser is told who decided.
        other = await h.register("T2")
        await request(h, other, "C1", "出差")
        three, four = await card(first, 2), await card(second, 2)
        answers = await asyncio.gather(first.press(three, "批准"), second.press(four, "批准"))
        texts = sorted(a.text or "" for a in answers)
        assert texts[0] == text_of("leave.decide.done_approved")
        assert texts[1].startswith(text_of("leave.decide.already", outcome="✅"))
        decided = await state(h, 2)
        assert decided[0] == "approved" and decided[1] in ("H1", "H2")
        await h.flush()
        # Both cards end up showing who decided, without buttons; the trainee hears once;
        # nobody got an error.
        for entry in (three, four):
            shown = await edited(h, entry)
            assert "批准" in shown.text and shown.buttons == []
        assert len([e for e in other.messages() if said(e.text, "leave.notice.approved")]) == 1
        for person in (first, second, user, other):
            assert not any(said(e.text, "error.apology") for e in person.messages())


async def test_forged_presses_change_nothing(h: Harness) -> None:
    leader = await h.register("L1")
    other_leader = await h.register("L2")
    trainee = await h.register("T2")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    await card(leader, 1)
    for presser in (trainee, other_leader, user):
        own = await presser.ask("/leaves")
        for data in ("leave:ok:1", "leave:no:1", "leave:nr:1", "leave:ok:99", "leave:ok:x"):
            answer = await presser.press_data(own, data)
            assert answer.show_alert and answer.text == FORGED, (presser, data)
    assert await state(h) == ("pending", None, 0)
    # HR may decide a leader's request; a stale button after the decision only says so.
    hr = await h.register("H1")
    queue = await hr.ask("/leaves")
    answer = await hr.press_data(queue, "leave:ok:1")
    assert answer.text == "已批准"
    got = leave_cards(leader)[0]
    answer = await leader.press(got, "驳回")
    assert answer.show_alert and said(answer.text, "leave.decide.already")
    assert await state(h) == ("approved", "H1", 0)


# -- withdrawing -----------------------------------------------------------------------------------


async def test_withdraw_a_pending_request(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    done = await request(h, user, "G1", "家中有事")
    got = await card(leader, 1)
    answer = await user.press(done, "撤回这条请假")
    assert answer.text == "已撤回"
    assert await state(h) == ("withdrawn", None, 0)
    await h.flush()
    shown = await edited(h, got)
    assert said(shown.text, "leave.outcome.withdrawn") and shown.buttons == []
    # A new request for the same activity is possible again.
    await request(h, user, "G1", "还是要请假")
    assert await count_requests(h) == 2


async def test_withdraw_an_approved_request_before_the_start_only(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    await leader.press(await card(leader, 1), "批准")
    await h.flush()
    mine = await user.ask("/leaves")
    answer = await user.press(mine, "撤回 #1 读书交流")
    assert answer.text == "已撤回"
    await h.flush()
    told = await leader.next_message(predicate=lambda e: said(
        e.text, "leave.notice.withdrawn_approved"
    ))
    assert "黄志强" in told.text
    await request(h, user, "G1", "再次请假")
    await leader.press(await card(leader, 2), "批准")
    h.clock.set(at(2, 15, 1))
    mine = await user.ask("/leaves")
    assert text_of("leave.btn.withdraw", id=2, title="读书交流") not in mine.button_texts
    answer = await user.press_data(mine, "leave:wd:2")
    assert answer.show_alert and said(answer.text, "leave.withdraw.too_late")
    assert (await state(h, 2))[0] == "approved"


# -- check-in after approval -----------------------------------------------------------------------


async def test_check_in_after_approval_voids_the_leave(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "可能来不了")
    await leader.press(await card(leader, 1), "批准")
    h.clock.set(at(2, 14, 45))
    async with h.services.db.read() as conn:
        g1 = await activities_repo.by_activity_id(conn, "G1")
    assert g1 is not None
    code = current_code(g1.secret, h.clock.now(), rules_of(h.config.checkin))
    reply = await user.ask(f"/checkin {code}", predicate=lambda e: "签到" in e.text)
    assert said(reply.text, "attendance.checkin.ok")
    assert (await state(h))[0] == "void"
    h.clock.set(at(2, 17, 0))
    await h.tick()
    assert await record(h, "T1", "G1") == "present"
    mine = await user.ask("/leaves")
    assert said(mine.text, "leave.state.void")


# -- reminders and escalation --------------------------------------------------------------------


async def test_reminder_then_escalation_by_the_clock(h: Harness) -> None:
    leader = await h.register("L1")
    hr = await h.register("H1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")  # at 09:00; G1 starts 15:00
    await card(leader, 1)
    assert (await h.tick(hours=3, minutes=59))["leave.remind"] == 0  # 12:59
    assert (await h.tick(minutes=1))["leave.remind"] == 1  # 13:00 = start - 120 min
    reminder = await leader.next_message(predicate=lambda e: said(e.text, "leave.msg.remind"))
    assert "15:00" in reminder.text and reminder.button_texts == DECIDE
    assert (await h.tick(minutes=30))["leave.remind"] == 0  # once only
    assert leave_cards(hr) == []
    assert (await h.tick(minutes=89))["leave.escalate"] == 0  # 14:59
    assert (await h.tick(minutes=1))["leave.escalate"] == 1  # 15:00
    escalated = await hr.next_message(predicate=lambda e: said(e.text, "leave.msg.escalate"))
    assert escalated.button_texts == DECIDE
    assert (await h.tick(minutes=5))["leave.escalate"] == 0
    async with h.services.db.read() as conn:
        waiting = await pending.gather(conn, "zh")
    assert any("请假 #1" in line and "黄志强" in line for line in waiting)
    # HR decides from the escalation; the leader's two messages show it.
    await hr.press(escalated, "批准")
    await h.flush()
    for entry in leave_cards(leader):
        shown = await edited(h, entry)
        assert said(shown.text, "leave.outcome.approved", by="周敏", at="03-02 15:05")
        assert shown.buttons == []


async def test_a_request_after_the_reminder_moment_is_not_reminded(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    h.clock.set(at(2, 14, 0))  # one hour before G1: the leader was just asked
    await request(h, user, "G1", "临时有事")
    await card(leader, 1)
    assert (await h.tick(minutes=30))["leave.remind"] == 0
    await leader.press(leave_cards(leader)[0], "批准")
    assert (await h.tick(minutes=60))["leave.escalate"] == 0


async def test_escalation_after_downtime_is_sent_once(h: Harness) -> None:
    hr = await h.register("H1")
    await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    done = await h.tick(hours=8)  # 17:00: reminder time and start both passed while down
    assert done["leave.remind"] == 0 and done["leave.escalate"] == 1
    await hr.next_message(predicate=lambda e: said(e.text, "leave.msg.escalate"))
    assert (await h.tick())["leave.escalate"] == 0


# -- restart ---------------------------------------------------------------------------------------


async def test_buttons_work_after_a_restart(h: Harness) -> None:
    leader = await h.register("L1")
    user = await h.register("T1")
    await request(h, user, "G1", "家中有事")
    got = await card(leader, 1)
    await restart(h)
    answer = await leader.press(got, "批准")
    assert answer.text == "已批准"
    assert await state(h) == ("approved", "L1", 0)
    await h.flush()
    await user.next_message(predicate=lambda e: said(e.text, "leave.notice.approved"))


# -- HR's after-the-fact excuse --------------------------------------------------------------------


async def test_excuse_after_the_fact_turns_absent_into_excused(h: Harness) -> None:
    hr = await h.register("H1")
    user = await h.register("T2")
    h.clock.set(at(2, 17, 0))
    await h.tick()
    assert await record(h, "T2", "G1") == "absent"
    usage = await hr.ask("/excuse")
    assert said(usage.text, "leave.excuse.usage")
    shown = await hr.ask("/excuse T2 G1 突发疾病，已补交病历")
    assert said(shown.text, "leave.msg.excuse", id=1) and said(shown.text, "leave.msg.late")
    assert shown.button_texts == DECIDE
    await hr.press(shown, "批准")
    assert await record(h, "T2", "G1") == "excused"
    note = await h.services.db.fetchone(
        "SELECT c.old_status, c.new_status, c.reason FROM attendance_corrections c"
        " JOIN members m ON m.id = c.member_pk WHERE m.member_id = 'T2'"
    )
    assert note is not None and tuple(note) == ("absent", "excused", "逾期请假 #1 事后批准")
    assert await state(h) == ("approved", "H1", 1)
    await h.flush()
    notice = await user.next_message(predicate=lambda e: said(e.text, "leave.notice.approved_late"))
    assert said(notice.text, "leave.notice.approved_late")
    again = await hr.ask("/excuse T2 G1")
    assert said(again.text, "leave.excuse.approved")
    trainee = await user.ask("/excuse T1 G1")
    assert said(trainee.text, "leave.excuse.hr_only")
    assert said((await hr.ask("/excuse X9 G1")).text, "leave.excuse.no_member", member_id="X9")


async def test_hr_rejects_a_late_one(h: Harness) -> None:
    hr = await h.register("H1")
    await h.register("T3")
    h.clock.set(at(3, 9, 30))
    shown = await hr.ask("/excuse T3 C1 睡过头了")
    await hr.press(shown, "驳回")
    await hr.next_message(predicate=lambda e: said(e.text, "leave.decide.ask_reason"))
    await hr.ask("理由不充分")
    assert await state(h) == ("rejected", "H1", 1)
    h.clock.set(at(3, 11, 0))
    await h.tick()
    assert await record(h, "T3", "C1") == "absent"


# -- lists -----------------------------------------------------------------------------------------


async def test_leader_queue_with_buttons(h: Harness) -> None:
    leader = await h.register("L1")
    for member_id in ("T1", "T2"):
        await request(h, await h.register(member_id), "G1", f"{member_id} 有事")
    await request(h, leader, "C1", "组长自己请假")
    reply = await leader.ask("/leaves")
    assert said(reply.text, "leave.list.own_header") and "集中培训" in reply.text
    header = await leader.next_message()
    assert said(header.text, "leave.list.queue_header", count=2)
    first = await leader.next_message()
    second = await leader.next_message()
    assert "T1 有事" in first.text and "T2 有事" in second.text
    answer = await leader.press(second, "批准")
    assert answer.text == "已批准"
    assert (await state(h, 2))[0] == "approved"
    hr = await h.register("H1")
    await hr.ask("/leaves")
    waiting = await hr.next_message()
    assert "组长自己请假" in waiting.text and waiting.button_texts == DECIDE


# -- export ----------------------------------------------------------------------------------------


async def test_export_columns_and_filters(h: Harness, tmp_path: Path) -> None:
    leader = await h.register("L1")
    hr = await h.register("H1")
    await request(h, await h.register("T1"), "G1", "家中有事")
    await leader.press(await card(leader, 1), "批准")
    await request(h, await h.register("T3"), "C1", "出差")
    await hr.press(await card(hr, 2), "驳回")
    await hr.next_message(predicate=lambda e: said(e.text, "leave.decide.ask_reason"))
    assert (await hr.ask("不批")).text == "已驳回"
    sheet = await exporters()["leave"](h.services.db, h.config, ExportFilter())
    out = io.StringIO()
    write_csv(sheet, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert ",".join(rows[0]) == EXPORT_COLUMNS
    assert rows[1] == ["1", "T1", "黄志强", "第一组", "G1", "读书交流", "2026-03-02 15:00",
                       "approved", "家中有事", "罗宏伟", "2026-03-02 09:00", "0"]
    assert rows[2][7] == "rejected" and rows[2][9] == "周敏"
    async with h.services.db.read() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
    group2 = await exporters()["leave"](h.services.db, h.config,
                                        ExportFilter(group_id=groups["第二组"]))
    assert [r["member_id"] for r in group2.rows] == ["T3"]
    day = await exporters()["leave"](h.services.db, h.config,
                                     ExportFilter(dt.date(2026, 3, 3), dt.date(2026, 3, 3)))
    assert [r["request_id"] for r in day.rows] == [2]
    # The command line.
    cfg_file = tmp_path / "cli.toml"
    cfg_file.write_text(f"[storage]\npath = {str(h.config.db_path)!r}\n", encoding="utf-8")
    target = tmp_path / "leave.csv"
    assert await asyncio.to_thread(main, ["export", "leave", "--config", str(cfg_file),
                                          "--format", "csv", "--out", str(target),
                                          "--codes"]) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    lines = target.read_text("utf-8-sig").splitlines()
    assert lines[0] == EXPORT_COLUMNS and len(lines) == 3
    book = tmp_path / "leave.xlsx"
    assert await asyncio.to_thread(main, ["export", "leave", "--config", str(cfg_file),
                                          "--format", "xlsx", "--out", str(book),
                                          "--codes"]) == 0
    import openpyxl

    ws = openpyxl.load_workbook(book).active
    assert ws is not None
    assert [c.value for c in ws[1]] == EXPORT_COLUMNS.split(",")
    assert ws["G2"].value == dt.datetime(2026, 3, 2, 15, 0) and ws["L2"].value is False


async def test_hr_chat_gets_the_card_and_decides_in_the_group(tmp_path: Path) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": -100600}) as h:
        group = h.sandbox.group(-100600, "人事科")
        await import_schedule(h, *SCHEDULE)
        hr = await h.register("H1")
        outsider = await h.register("T2")
        user = await h.register("T1")
        await request(h, user, "C1", "家中有事")
        got = await group.next_message(predicate=lambda e: said(e.text, "leave.msg.new", id=1))
        assert got.button_texts == DECIDE
        assert leave_cards(hr) == []
        answer = await outsider.press(got, "批准")  # a trainee in the HR chat
        assert answer.show_alert and answer.text == FORGED
        assert (await hr.press(got, "批准")).text == text_of("leave.decide.done_approved")
        shown = await edited(h, got)
        assert said(shown.text, "leave.outcome.approved", by="周敏") and shown.buttons == []
        assert await state(h) == ("approved", "H1", 0)
        # Reject in the group: the reason is asked for in HR's private chat.
        await request(h, outsider, "C1", "出差")
        second = await group.next_message(predicate=lambda e: said(e.text, "leave.msg.new", id=2))
        answer = await hr.press(second, "驳回")
        assert answer.show_alert and said(answer.text, "leave.decide.reason_in_private")
        await hr.next_message(predicate=lambda e: said(e.text, "leave.decide.ask_reason"))
        assert (await hr.ask("培训必须参加")).text == text_of("leave.decide.done_rejected")
        shown = await edited(h, second)
        assert said(shown.text, "leave.outcome.rejected_reason", note="培训必须参加")
        assert shown.buttons == []


async def test_the_leaders_digest_lists_leave_waiting_for_them(h: Harness) -> None:
    from bot.reminders import digest

    await h.register("L1")
    await request(h, await h.register("T1"), "G1", "家中有事")
    async with h.services.db.read() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
        scope = digest.Scope(
            kind="leader", cfg=h.config, lang="zh", start=at(1, 0).astimezone(dt.UTC),
            end=at(2, 10).astimezone(dt.UTC), today=dt.date(2026, 3, 2),
            group_id=groups["第一组"], group_name="第一组",
        )
        text = (await digest.compose(conn, scope)).text
    assert "【待您审批的请假】\n· #1 黄志强「读书交流」（03-02 15:00）" in text
