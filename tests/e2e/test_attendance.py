"""Roll call end to end through the sandbox: every status, every refusal, the host's code and QR,
locations, check-out and early leave, closing (also after downtime), corrections, 50 at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.activities.rules import current_code, qr_token
from bot.activities.scheduling import rules_of
from bot.app import build_application, start_app, stop_app
from bot.sandbox.client import Entry, SandboxUser
from storage import members as members_repo
from tests.helpers import TZ, Harness, activity, edited, import_schedule, restart, running_bot

# 第一组 (L1, T1, T2), 10:00-12:00 on the test day, hosted by T1; check-in opens at 09:30.
G1 = "G1,group_study,读书交流,第一组,2026-03-02 10:00,2026-03-02 12:00,会议室,,,T1"
VENUE = (30.2741, 120.1551)


async def code(h: Harness, activity_id: str = "G1") -> str:
    a = await activity(h, activity_id)
    return current_code(a.secret, h.clock.now(), rules_of(h.config.checkin))


async def status_of(h: Harness, member_id: str, activity_id: str = "G1") -> str | None:
    row = await h.services.db.fetchone(
        "SELECT r.status FROM attendance r JOIN activities a ON a.id = r.activity_pk"
        " JOIN members m ON m.id = r.member_pk WHERE a.activity_id = ? AND m.member_id = ?",
        (activity_id, member_id),
    )
    return None if row is None else str(row[0])


async def count_records(h: Harness, activity_id: str = "G1") -> int:
    row = await h.services.db.fetchone(
        "SELECT COUNT(*) FROM attendance r JOIN activities a ON a.id = r.activity_pk"
        " WHERE a.activity_id = ?", (activity_id,),
    )
    assert row is not None
    return int(row[0])


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hh, mm, ss, tzinfo=TZ)


@pytest.fixture
async def h(h: Harness) -> Harness:
    """The shared bot (tests/conftest.py) with G1 on the schedule."""
    await import_schedule(h, G1)
    return h


# -- statuses -------------------------------------------------------------------------------


async def test_host_shows_code_and_qr_then_trainee_is_present(h: Harness) -> None:
    host = await h.register("T1")
    trainee = await h.register("T2")
    h.clock.set(at(9, 50))
    photo = await host.ask("/code")
    assert photo.media_type == "photo" and photo.file_bytes and photo.file_bytes[:4] == b"\x89PNG"
    assert "读书交流" in photo.text and f"https://t.me/{h.sandbox.bot_username}?start=ci_" in (
        photo.text)
    number = await host.next_message()
    assert number.text.isdigit() and len(number.text) == 6
    assert f"签到码：{number.text}" in photo.text
    reply = await trainee.ask(f"/checkin {number.text}")
    assert "签到成功" in reply.text and "09:50" in reply.text
    assert await status_of(h, "T2") == "present"
    # Two minutes later the host refreshes: a new QR and a new code.
    h.clock.advance(minutes=2)
    await host.press(number, "🔄 刷新签到码")
    photo2 = await host.next_message()
    number2 = await host.next_message()
    assert photo2.media_type == "photo" and number2.text != number.text
    assert number2.text == await code(h)
    # A trainee may not ask for the code.
    assert "没有由您负责签到的活动" in (await trainee.ask("/code")).text


async def test_late_after_the_grace_minutes(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(10, 5))
    assert "签到成功" in (await trainee.ask(f"/checkin {await code(h)}")).text
    trainee2 = await h.register("L1")
    h.clock.set(at(10, 5, 1))
    reply = await trainee2.ask(f"/checkin {await code(h)}")
    assert "记为迟到" in reply.text and "10:00 开始" in reply.text
    assert (await status_of(h, "T2"), await status_of(h, "L1")) == ("present", "late")


async def test_code_typed_after_checkin(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    prompt = await trainee.ask("/checkin")
    assert "6 位签到码" in prompt.text
    assert "6 位数字" in (await trainee.ask("不知道")).text
    reply = await trainee.ask(await code(h))
    assert "签到成功" in reply.text
    assert await status_of(h, "T2") == "present"


async def test_wrong_code_then_right_one(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    right = await code(h)
    wrong = "000000" if right != "000000" else "111111"
    reply = await trainee.ask(f"/checkin {wrong}")
    assert "签到码不正确" in reply.text
    assert await status_of(h, "T2") is None
    assert "签到成功" in (await trainee.ask(right)).text


async def test_wrong_codes_are_limited_and_the_limit_survives_a_restart(h: Harness) -> None:
    trainee = await h.register("T2")
    other = await h.register("L1")
    h.clock.set(at(9, 40))
    right = await code(h)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):  # the default limit is 5 wrong codes within an hour
        assert "签到码不正确" in (await trainee.ask(f"/checkin {wrong}")).text
        h.clock.advance(minutes=1)
    locked = await trainee.ask(wrong)  # the 5th, typed into the waiting dialog, at 09:44
    assert "已输错 5 次" in locked.text and "09:59 之前" in locked.text
    # The right code is refused too while locked, also after a restart, and nothing is recorded.
    h.clock.advance(minutes=5)
    assert "09:59 之前" in (await trainee.ask(f"/checkin {await code(h)}")).text
    await restart(h)
    assert "09:59 之前" in (await trainee.ask("/checkin")).text
    assert await status_of(h, "T2") is None
    # Someone else's tries are their own.
    assert "签到成功" in (await other.ask(f"/checkin {await code(h)}")).text
    # After the lock-out the right code works (the 10:00 start is not late yet).
    h.clock.set(at(9, 59))
    assert "签到成功" in (await trainee.ask(f"/checkin {await code(h)}")).text
    assert await status_of(h, "T2") == "present"


async def test_wrong_codes_spread_over_more_than_the_window_do_not_lock(tmp_path: Path) -> None:
    async with running_bot(tmp_path, checkin={"max_wrong_codes": 2,
                                              "wrong_codes_window_minutes": 10}) as h:
        await import_schedule(h, G1)
        trainee = await h.register("T2")
        h.clock.set(at(9, 31))
        right = await code(h)
        wrong = "000000" if right != "000000" else "111111"
        assert "签到码不正确" in (await trainee.ask(f"/checkin {wrong}")).text
        h.clock.advance(minutes=11)  # the first wrong one is out of the window
        assert "签到码不正确" in (await trainee.ask(f"/checkin {wrong}")).text
        h.clock.advance(minutes=1)
        assert "已输错 2 次" in (await trainee.ask(f"/checkin {wrong}")).text
        rows = await h.services.db.fetchall("SELECT COUNT(*) FROM checkin_tries")
        assert rows[0][0] == 2  # tries older than the window were pruned


async def test_expired_code(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40, 10))
    old = await code(h)
    h.clock.advance(minutes=2)
    reply = await trainee.ask(f"/checkin {old}")
    assert "已过期" in reply.text
    assert await status_of(h, "T2") is None


async def test_previous_code_is_accepted_within_the_grace(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40, 50))
    shown = await code(h)
    h.clock.set(at(9, 41, 20))  # the code rotated 20 s ago; grace is 30 s
    assert "签到成功" in (await trainee.ask(f"/checkin {shown}")).text


async def test_already_checked_in(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 45))
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(10, 20))
    reply = await trainee.ask(f"/checkin {await code(h)}")
    assert "已于 09:45 签到" in reply.text and "无需重复签到" in reply.text
    assert await status_of(h, "T2") == "present"
    assert await count_records(h) == 1


async def test_online_activity_self_check_in(h: Harness) -> None:
    await import_schedule(h, "O1,online,线上讲座,,2026-03-02 19:00,2026-03-02 20:00,,,,")
    trainee = await h.register("T3")
    h.clock.set(at(19, 10))
    reply = await trainee.ask("/checkin")
    assert "已签到：「线上讲座」" in reply.text and "记为迟到" in reply.text
    assert await status_of(h, "T3", "O1") == "late"


# -- refusals -------------------------------------------------------------------------------


async def test_no_open_activity_names_the_next_one(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 29))
    reply = await trainee.ask("/checkin 123456")
    assert "现在没有可以签到的活动" in reply.text
    assert "读书交流" in reply.text and "2026-03-02 09:30" in reply.text
    other = await h.register("H1")
    assert "近期也没有安排您参加的活动" in (await other.ask("/checkin")).text


async def test_window_closed(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(12, 0))
    reply = await trainee.ask("/checkin 123456")
    assert "签到已于 12:00 截止" in reply.text
    assert await status_of(h, "T2") is None


async def test_not_a_participant(h: Harness) -> None:
    stranger = await h.register("T3")  # 第二组
    h.clock.set(at(9, 45))
    reply = await stranger.ask(f"/checkin {await code(h)}")
    assert "不是「读书交流」的参加人员" in reply.text
    a = await activity(h)
    token = qr_token(a.pk, a.secret, h.clock.now(), rules_of(h.config.checkin))
    reply = await stranger.ask(f"/start ci_{token}")
    assert "不是「读书交流」的参加人员" in reply.text
    assert await count_records(h) == 0


async def test_qr_deep_link_checks_in_and_expires(h: Harness) -> None:
    trainee = await h.register("T2")
    late = await h.register("L1")
    h.clock.set(at(9, 45))
    a = await activity(h)
    token = qr_token(a.pk, a.secret, h.clock.now(), rules_of(h.config.checkin))
    assert "签到成功" in (await trainee.ask(f"/start ci_{token}")).text
    h.clock.advance(minutes=3)
    assert "二维码已过期" in (await late.ask(f"/start ci_{token}")).text
    assert "链接无效" in (await late.ask(f"/start ci_{a.pk}_1_AAAAAAAAAAAA")).text
    assert await status_of(h, "L1") is None
    # Scanned by someone not registered: how to register, no check-in.
    stranger = h.new_user()
    assert "邀请链接" in (await stranger.ask(f"/start ci_{token}")).text


async def test_several_open_activities_offer_a_choice(h: Harness) -> None:
    await import_schedule(h, "O1,online,线上读书会,,2026-03-02 10:00,2026-03-02 11:00,,,,")
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    choice = await trainee.ask("/checkin")
    assert "多个活动" in choice.text and len(choice.buttons) == 2
    await trainee.press(choice, next(t for t in choice.button_texts if "线上读书会" in t))
    assert "签到成功" in (await trainee.next_message()).text
    assert await status_of(h, "T2", "O1") == "present"
    # The other one is the only one left: asks for its code.
    assert "6 位签到码" in (await trainee.ask("/checkin")).text


# -- location -------------------------------------------------------------------------------


@pytest.fixture
async def hl(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(tmp_path, checkin={"require_location": True, "radius_m": 200}) as h:
        await import_schedule(
            h, f"C1,collective,主题培训,,2026-03-02 10:00,2026-03-02 16:00,报告厅,"
               f"{VENUE[0]},{VENUE[1]},",
        )
        yield h


async def test_location_inside_the_radius(hl: Harness) -> None:
    user = await hl.register("T3")
    hl.clock.set(at(9, 50))
    ask = await user.ask(f"/checkin {await code(hl, 'C1')}")
    assert "发送您当前的位置" in ask.text
    assert ask.reply_markup is not None
    assert ask.reply_markup["keyboard"][0][0]["request_location"] is True
    assert await status_of(hl, "T3", "C1") is None
    await user.send_location(VENUE[0] + 0.001, VENUE[1])  # ~111 m
    assert "签到成功" in (await user.next_message()).text
    assert await status_of(hl, "T3", "C1") == "present"


async def test_location_refusals(hl: Harness) -> None:
    user = await hl.register("T3")
    hl.clock.set(at(9, 50))
    await user.ask(f"/checkin {await code(hl, 'C1')}")
    await user.send_location(VENUE[0] + 0.01, VENUE[1])  # ~1.1 km
    far = await user.next_message()
    assert "约 1112 米" in far.text and "200 米" in far.text
    await user.send_location(*VENUE, forwarded=True)
    assert "转发的位置" in (await user.next_message()).text
    await user.send_location(*VENUE, date=hl.clock.now() - dt.timedelta(minutes=5))
    assert "不是刚刚发送的" in (await user.next_message()).text
    assert await status_of(hl, "T3", "C1") is None
    assert "发送我的位置" in (await user.ask("好了")).text
    await user.send_location(*VENUE, live_period=900)  # a live location is fine
    assert "签到成功" in (await user.next_message()).text


async def test_cancel_at_the_location_step_removes_the_location_button(hl: Harness) -> None:
    user = await hl.register("T3")
    hl.clock.set(at(9, 50))
    ask = await user.ask(f"/checkin {await code(hl, 'C1')}")
    assert ask.reply_markup is not None and "keyboard" in ask.reply_markup
    cancelled = await user.ask("/cancel")
    assert cancelled.text == "已取消。"
    assert cancelled.reply_markup == {"remove_keyboard": True}
    assert await status_of(hl, "T3", "C1") is None
    # Nothing is waiting any more: a later location is not taken for the check-in.
    nothing = await user.ask("/cancel")
    assert nothing.reply_markup is None


async def test_location_not_asked_when_off(tmp_path: Path) -> None:
    async with running_bot(tmp_path, checkin={"require_location": False}) as h:
        await import_schedule(
            h, f"C1,collective,主题培训,,2026-03-02 10:00,2026-03-02 16:00,报告厅,"
               f"{VENUE[0]},{VENUE[1]},",
        )
        user = await h.register("T3")
        h.clock.set(at(9, 50))
        assert "签到成功" in (await user.ask(f"/checkin {await code(h, 'C1')}")).text


# -- check-out ------------------------------------------------------------------------------


async def test_checkout_in_the_window(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 50))
    assert "您还没有签到" in (await trainee.ask("/checkout")).text
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(11, 45))
    reply = await trainee.ask("/checkout")
    assert "已签退" in reply.text and "11:45" in reply.text
    assert await status_of(h, "T2") == "present"
    assert "已于 11:45 签退" in (await trainee.ask("/checkout")).text


async def test_early_leave_needs_confirmation(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 50))
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(10, 30))
    question = await trainee.ask("/checkout")
    assert "记为早退" in question.text and "11:45" in question.text
    await trainee.press(question, "不走了")
    assert "请继续参加" in (await edited(h, question)).text
    assert await status_of(h, "T2") == "present"
    question = await trainee.ask("/checkout")
    await trainee.press(question, "确定离开（记为早退）")
    assert "签退时间 10:30，记为早退" in (await edited(h, question)).text
    assert await status_of(h, "T2") == "early_leave"
    # A second press of the old button changes nothing.
    a = await activity(h)
    await trainee.press_data(question, f"att:leave:{a.pk}")
    assert "已于 10:30 签退" in (await edited(h, question, 2)).text
    assert await status_of(h, "T2") == "early_leave"


# -- closing --------------------------------------------------------------------------------


async def test_absent_when_the_activity_closes(h: Harness) -> None:
    leader = await h.register("L1")
    present = await h.register("T1")
    absent = await h.register("T2")
    h.clock.set(at(9, 50))
    await present.ask(f"/checkin {await code(h)}")
    h.clock.set(at(11, 59))
    assert (await h.tick())["attendance.close"] == 0
    done = await h.tick(minutes=1)
    assert done["attendance.close"] == 1
    assert [await status_of(h, m) for m in ("L1", "T1", "T2")] == ["absent", "present", "absent"]
    notice = await absent.next_message(predicate=lambda e: "缺勤" in e.text)
    assert "读书交流" in notice.text
    roll = await leader.next_message(predicate=lambda e: "考勤已截止" in e.text)
    assert "出勤 1" in roll.text and "缺勤 2" in roll.text
    assert (await h.tick(minutes=5))["attendance.close"] == 0
    assert await count_records(h) == 3
    assert not any("缺勤" in m.text for m in present.messages())


async def test_absent_recorded_once_after_downtime(h: Harness) -> None:
    absent = await h.register("T2")
    h.clock.set(at(11, 0))
    assert (await h.tick())["attendance.close"] == 0
    # The bot stops before the end and only comes back hours after it.
    await stop_app(h.app)
    h.clock.set(at(15, 0))
    h.app = build_application(h.config, h.options)
    await start_app(h.app)
    assert (await h.tick())["attendance.close"] == 1
    await restart(h)
    assert (await h.tick(minutes=1))["attendance.close"] == 0
    assert [await status_of(h, m) for m in ("L1", "T1", "T2")] == ["absent"] * 3
    assert await count_records(h) == 3
    rows = await h.services.db.fetchall(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'attendance.absent'"
    )
    assert rows[0][0] == 1  # only T2 is registered
    notices = [m for m in absent.messages() if "记为缺勤" in m.text]
    assert len(notices) == 1


async def test_excused_with_approved_leave(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import attendance as attendance_repo

    async with h.services.db.read() as conn:
        t2 = await members_repo.by_member_id(conn, "T2")
    assert t2 is not None

    async def approved(conn: object, activity_pk: int) -> set[int]:
        return {t2.pk}

    monkeypatch.setattr(attendance_repo, "excused_member_pks", approved)
    await h.tick(hours=4)
    assert await status_of(h, "T2") == "excused"
    assert await status_of(h, "T1") == "absent"


async def test_cancelled_activity_is_never_closed(h: Harness) -> None:
    async with h.services.db.tx() as conn:
        await conn.execute("UPDATE activities SET status = 'cancelled'")
    await h.tick(hours=4)
    assert await count_records(h) == 0


# -- concurrency ----------------------------------------------------------------------------


async def test_fifty_trainees_check_in_at_the_same_moment(tmp_path: Path) -> None:
    roster = "member_id,name,role,group,school,stage\nL1,组长,leader,大组,学校,小学\n"
    roster += "".join(f"T{i:02d},学员{i:02d},trainee,大组,学校,小学\n" for i in range(50))
    roster += "H1,人事,hr,,局,\n"
    async with running_bot(tmp_path, roster=roster) as h:
        await import_schedule(
            h, "B1,group_study,大组学习,大组,2026-03-02 10:00,2026-03-02 12:00,礼堂,,,L1"
        )
        users: list[SandboxUser] = []
        async with h.services.db.tx() as conn:
            for i in range(50):
                user = h.new_user(f"学员{i:02d}")
                member = await members_repo.by_member_id(conn, f"T{i:02d}")
                assert member is not None
                await members_repo.link_telegram(conn, member.pk, user.id, "zh", "2026-03-02")
                users.append(user)
        h.clock.set(at(9, 59))
        the_code = await code(h, "B1")
        replies: list[Entry] = await asyncio.gather(
            *(u.ask(f"/checkin {the_code}", timeout=30) for u in users)
        )
        assert all("签到成功" in r.text for r in replies), [r.text for r in replies]
        assert await count_records(h, "B1") == 50
        # And all at once again: every one answered "already", still 50 records.
        again = await asyncio.gather(*(u.ask(f"/checkin {the_code}", timeout=30)
                                       for u in users[:10]))
        assert all("无需重复签到" in r.text for r in again)
        assert await count_records(h, "B1") == 50


async def test_double_check_in_race_records_once(h: Harness) -> None:
    """Two devices of one account: the constraint keeps one record."""
    from bot.activities import roll_call

    async with h.services.db.read() as conn:
        t2 = await members_repo.by_member_id(conn, "T2")
    assert t2 is not None
    a = await activity(h)
    h.clock.set(at(9, 45))
    results = await asyncio.gather(*(
        roll_call.check_in(h.services.db, h.config, a.pk, t2.pk, h.clock.now(), "code")
        for _ in range(5)
    ))
    assert sorted(r.outcome for r in results) == ["already"] * 4 + ["ok"]
    assert await count_records(h) == 1


# -- views and corrections ------------------------------------------------------------------


async def test_trainee_sees_their_year(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 45))
    await trainee.ask(f"/checkin {await code(h)}")
    await h.tick(hours=3)
    trainee.skip_pending()
    reply = await trainee.ask("/attendance")
    assert "2026 年考勤" in reply.text and "出勤 1" in reply.text and "缺勤 0" in reply.text
    assert "读书交流：出勤" in reply.text


async def test_leader_corrects_with_reason_and_audit(h: Harness) -> None:
    leader = await h.register("L1")
    trainee = await h.register("T2")
    h.clock.set(at(9, 45))
    await h.tick(hours=3)  # closes: everyone absent
    trainee.skip_pending()
    leader.skip_pending()
    roll = await leader.ask("/attendance")
    assert "黄志强（T1）：缺勤" in roll.text and "邹立新（T2）：缺勤" in roll.text
    await leader.press(roll, "✏️ 更正考勤")
    members = await leader.next_message()
    await leader.press(members, next(t for t in members.button_texts if "邹立新" in t))
    statuses = await edited(h, members)
    assert "请选择更正后的状态" in statuses.text
    await leader.press(statuses, "请假")
    assert "更正原因" in (await edited(h, statuses, 2)).text
    done = await leader.ask("提前请过假，组长同意")
    assert "已更正" in done.text and "缺勤" in done.text and "请假" in done.text
    assert await status_of(h, "T2") == "excused"
    rows = await h.services.db.fetchall(
        "SELECT old_status, new_status, reason, m.member_id FROM attendance_corrections c"
        " JOIN members m ON m.id = c.actor_pk"
    )
    assert [tuple(r) for r in rows] == [("absent", "excused", "提前请过假，组长同意", "L1")]
    await h.flush()
    notice = await trainee.next_message(predicate=lambda e: "更正" in e.text)
    assert "罗宏伟" in notice.text and "提前请过假" in notice.text
    # The roll now shows the correction.
    roll = await leader.ask("/attendance G1")
    assert "邹立新（T2）：请假" in roll.text and "更正记录" in roll.text


async def test_only_leader_or_hr_may_correct(h: Harness) -> None:
    trainee = await h.register("T2")
    other_leader = await h.register("L2")
    hr = await h.register("H1")
    await h.tick(hours=4)
    a = await activity(h)
    async with h.services.db.read() as conn:
        t1 = await members_repo.by_member_id(conn, "T1")
    assert t1 is not None
    own = await trainee.ask("/attendance G1")
    assert "2026 年考勤" in own.text  # a trainee gets their own record, not the roll
    for user in (trainee, other_leader):
        probe = await user.ask("/attendance")
        answer = await user.press_data(probe, f"att:fixs:{a.pk}:{t1.pk}:present")
        assert answer.show_alert and "已失效" in (answer.text or "")
    assert "无权查看" in (await other_leader.ask("/attendance G1")).text
    assert await status_of(h, "T1") == "absent"
    # HR can open any activity and correct it.
    pick = await hr.ask("/attendance")
    await hr.press(pick, next(t for t in pick.button_texts if "读书交流" in t))
    roll = await hr.next_message(predicate=lambda e: "更正考勤" in str(e.button_texts))
    await hr.press(roll, "✏️ 更正考勤")
    members = await hr.next_message(predicate=lambda e: "请选择人员" in e.text)
    await hr.press(members, next(t for t in members.button_texts if "黄志强" in t))
    statuses = await edited(h, members)
    await hr.press(statuses, "迟到")
    await edited(h, statuses, 2)
    assert "已更正" in (await hr.ask("签到机故障，实际迟到 5 分钟")).text
    assert await status_of(h, "T1") == "late"


async def test_leader_opens_earlier_rolls(h: Harness) -> None:
    await import_schedule(
        h, "G2,group_study,案例剖析,第一组,2026-03-02 14:00,2026-03-02 15:00,会议室,,,T2"
    )
    leader = await h.register("L1")
    await h.tick(hours=7)
    leader.skip_pending()
    latest = await leader.ask("/attendance")
    assert latest.text.startswith("📅 案例剖析")
    await leader.press(latest, next(t for t in latest.button_texts if "读书交流" in t))
    earlier = await leader.next_message()
    assert earlier.text.startswith("📅 读书交流") and "罗宏伟（L1）：缺勤" in earlier.text
    await leader.press(earlier, "我的考勤")
    own = await leader.next_message()
    assert "罗宏伟 的 2026 年考勤" in own.text and "缺勤 2" in own.text
