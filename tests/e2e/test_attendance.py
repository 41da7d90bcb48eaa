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
from tests.helpers import (
    TZ,
    Harness,
    activity,
    edited,
    import_schedule,
    restart,
    running_bot,
    said,
    text_of,
)

# 第一组 (L1, T1, T2), 10:00-12:00 on the test day, hosted by T1; check-in opens at 09:30.
G1 = "G1,group_study,读书交流,第一组,2026-03-02 10:00,2026-03-02 12:00,会议室,,,T1"
PRESENT, ABSENT = text_of("attendance.status.present"), text_of("attendance.status.absent")
EXCUSED = text_of("attendance.status.excused")
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
    assert said(reply.text, "attendance.checkin.ok", at="09:50")
    assert await status_of(h, "T2") == "present"
    # Two minutes later the host refreshes: a new QR and a new code.
    h.clock.advance(minutes=2)
    await host.press(number, "🔄 刷新签到码")
    photo2 = await host.next_message()
    number2 = await host.next_message()
    assert photo2.media_type == "photo" and number2.text != number.text
    assert number2.text == await code(h)
    # A trainee may not ask for the code.
    assert said((await trainee.ask("/code")).text, "attendance.code.none")


async def test_late_after_the_grace_minutes(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(10, 5))
    assert said((await trainee.ask(f"/checkin {await code(h)}")).text, "attendance.checkin.ok")
    trainee2 = await h.register("L1")
    h.clock.set(at(10, 5, 1))
    reply = await trainee2.ask(f"/checkin {await code(h)}")
    assert said(reply.text, "attendance.checkin.ok_late", start="10:00")
    assert (await status_of(h, "T2"), await status_of(h, "L1")) == ("present", "late")


async def test_code_typed_after_checkin(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    prompt = await trainee.ask("/checkin")
    assert said(prompt.text, "attendance.checkin.ask_code")
    assert said((await trainee.ask("不知道")).text, "attendance.checkin.not_a_code")
    reply = await trainee.ask(await code(h))
    assert said(reply.text, "attendance.checkin.ok")
    assert await status_of(h, "T2") == "present"


async def test_wrong_code_then_right_one(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    right = await code(h)
    wrong = "000000" if right != "000000" else "111111"
    reply = await trainee.ask(f"/checkin {wrong}")
    assert said(reply.text, "attendance.checkin.code_wrong")
    assert await status_of(h, "T2") is None
    assert said((await trainee.ask(right)).text, "attendance.checkin.ok")


async def test_wrong_codes_are_limited_and_the_limit_survives_a_restart(h: Harness) -> None:
    trainee = await h.register("T2")
    other = await h.register("L1")
    h.clock.set(at(9, 40))
    right = await code(h)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):  # the default limit is 5 wrong codes within an hour
        assert said((await trainee.ask(f"/checkin {wrong}")).text, "attendance.checkin.code_wrong")
        h.clock.advance(minutes=1)
    locked = await trainee.ask(wrong)  # the 5th, typed into the waiting dialog, at 09:44
    assert said(locked.text, "attendance.checkin.code_locked", count=5, until="09:59")
    # The right code is refused too while locked, also after a restart, and nothing is recorded.
    h.clock.advance(minutes=5)
    assert said(
        (await trainee.ask(f"/checkin {await code(h)}")).text,
        "attendance.checkin.code_locked",
        until="09:59",
    )
    await restart(h)
    assert said(
        (await trainee.ask("/checkin")).text, "attendance.checkin.code_locked", until="09:59"
    )
    assert await status_of(h, "T2") is None
    # Someone else's tries are their own.
    assert said((await other.ask(f"/checkin {await code(h)}")).text, "attendance.checkin.ok")
    # After the lock-out the right code works (the 10:00 start is not late yet).
    h.clock.set(at(9, 59))
    assert said((await trainee.ask(f"/checkin {await code(h)}")).text, "attendance.checkin.ok")
    assert await status_of(h, "T2") == "present"


async def test_wrong_codes_spread_over_more_than_the_window_do_not_lock(tmp_path: Path) -> None:
    async with running_bot(tmp_path, checkin={"max_wrong_codes": 2,
                                              "wrong_codes_window_minutes": 10}) as h:
        await import_schedule(h, G1)
        trainee = await h.register("T2")
        h.clock.set(at(9, 31))
        right = await code(h)
        wrong = "000000" if right != "000000" else "111111"
        assert said((await trainee.ask(f"/checkin {wrong}")).text, "attendance.checkin.code_wrong")
        h.clock.advance(minutes=11)  # the first wrong one is out of the window
        assert said((await trainee.ask(f"/checkin {wrong}")).text, "attendance.checkin.code_wrong")
        h.clock.advance(minutes=1)
        assert said(
            (await trainee.ask(f"/checkin {wrong}")).text, "attendance.checkin.code_locked", count=2
        )
        rows = await h.services.db.fetchall("SELECT COUNT(*) FROM checkin_tries")
        assert rows[0][0] == 2  # tries older than the window were pruned


async def test_expired_code(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40, 10))
    old = await code(h)
    h.clock.advance(minutes=2)
    reply = await trainee.ask(f"/checkin {old}")
    assert said(reply.text, "attendance.checkin.code_expired")
    assert await status_of(h, "T2") is None


async def test_previous_code_is_accepted_within_the_grace(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 40, 50))
    shown = await code(h)
    h.clock.set(at(9, 41, 20))  # the code rotated 20 s ago; grace is 30 s
    assert said((await trainee.ask(f"/checkin {shown}")).text, "attendance.checkin.ok")


async def test_already_checked_in(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 45))
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(10, 20))
    reply = await trainee.ask(f"/checkin {await code(h)}")
    assert said(reply.text, "attendance.checkin.already", at="09:45")
    assert await status_of(h, "T2") == "present"
    assert await count_records(h) == 1


async def test_online_activity_self_check_in(h: Harness) -> None:
    await import_schedule(h, "O1,online,线上讲座,,2026-03-02 19:00,2026-03-02 20:00,,,,")
    trainee = await h.register("T3")
    h.clock.set(at(19, 10))
    reply = await trainee.ask("/checkin")
    assert said(reply.text, "attendance.checkin.ok_late", title="线上讲座")
    assert await status_of(h, "T3", "O1") == "late"


# -- refusals -------------------------------------------------------------------------------


async def test_no_open_activity_names_the_next_one(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 29))
    reply = await trainee.ask("/checkin 123456")
    assert said(reply.text, "attendance.checkin.nothing_next")
    assert "读书交流" in reply.text and "2026-03-02 09:30" in reply.text
    other = await h.register("H1")
    assert said((await other.ask("/checkin")).text, "attendance.checkin.nothing")


async def test_window_closed(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(12, 0))
    reply = await trainee.ask("/checkin 123456")
    assert said(reply.text, "attendance.checkin.closed", at="12:00")
    assert await status_of(h, "T2") is None


async def test_not_a_participant(h: Harness) -> None:
    stranger = await h.register("T3")  # 第二组
    h.clock.set(at(9, 45))
    reply = await stranger.ask(f"/checkin {await code(h)}")
    assert said(reply.text, "attendance.checkin.not_participant", title="读书交流")
    a = await activity(h)
    token = qr_token(a.pk, a.secret, h.clock.now(), rules_of(h.config.checkin))
    reply = await stranger.ask(f"/start ci_{token}")
    assert said(reply.text, "attendance.checkin.not_participant", title="读书交流")
    assert await count_records(h) == 0


async def test_qr_deep_link_checks_in_and_expires(h: Harness) -> None:
    trainee = await h.register("T2")
    late = await h.register("L1")
    h.clock.set(at(9, 45))
    a = await activity(h)
    token = qr_token(a.pk, a.secret, h.clock.now(), rules_of(h.config.checkin))
    assert said((await trainee.ask(f"/start ci_{token}")).text, "attendance.checkin.ok")
    h.clock.advance(minutes=3)
    assert said((await late.ask(f"/start ci_{token}")).text, "attendance.checkin.qr_expired")
    assert said(
        (await late.ask(f"/start ci_{a.pk}_1_AAAAAAAAAAAA")).text, "attendance.checkin.bad_link"
    )
    assert await status_of(h, "L1") is None
    # Scanned by someone not registered: how to register, no check-in.
    stranger = h.new_user()
    assert said((await stranger.ask(f"/start ci_{token}")).text, "register.how_to")


async def test_several_open_activities_offer_a_choice(h: Harness) -> None:
    await import_schedule(h, "O1,online,线上读书会,,2026-03-02 10:00,2026-03-02 11:00,,,,")
    trainee = await h.register("T2")
    h.clock.set(at(9, 40))
    choice = await trainee.ask("/checkin")
    assert said(choice.text, "attendance.checkin.pick") and len(choice.buttons) == 2
    await trainee.press(choice, next(t for t in choice.button_texts if "线上读书会" in t))
    assert said((await trainee.next_message()).text, "attendance.checkin.ok")
    assert await status_of(h, "T2", "O1") == "present"
    # The other one is the only one left: asks for its code.
    assert said((await trainee.ask("/checkin")).text, "attendance.checkin.ask_code")


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
    assert said(ask.text, "attendance.checkin.ask_location")
    assert ask.reply_markup is not None
    assert ask.reply_markup["keyboard"][0][0]["request_location"] is True
    assert await status_of(hl, "T3", "C1") is None
    await user.send_location(VENUE[0] + 0.001, VENUE[1])  # ~111 m
    assert said((await user.next_message()).text, "attendance.checkin.ok")
    assert await status_of(hl, "T3", "C1") == "present"


async def test_location_refusals(hl: Harness) -> None:
    user = await hl.register("T3")
    hl.clock.set(at(9, 50))
    await user.ask(f"/checkin {await code(hl, 'C1')}")
    await user.send_location(VENUE[0] + 0.01, VENUE[1])  # ~1.1 km
    far = await user.next_message()
    assert said(
        far.text, "attendance.checkin.outside", distance=1112, radius=200
    ) and "200 米" in far.text
    await user.send_location(*VENUE, forwarded=True)
    assert said((await user.next_message()).text, "attendance.checkin.location_forwarded")
    await user.send_location(*VENUE, date=hl.clock.now() - dt.timedelta(minutes=5))
    assert said((await user.next_message()).text, "attendance.checkin.location_stale")
    assert await status_of(hl, "T3", "C1") is None
    assert said((await user.ask("好了")).text, "attendance.checkin.need_location")
    await user.send_location(*VENUE, live_period=900)  # a live location is fine
    assert said((await user.next_message()).text, "attendance.checkin.ok")


async def test_cancel_at_the_location_step_removes_the_location_button(hl: Harness) -> None:
    user = await hl.register("T3")
    hl.clock.set(at(9, 50))
    ask = await user.ask(f"/checkin {await code(hl, 'C1')}")
    assert ask.reply_markup is not None and "keyboard" in ask.reply_markup
    cancelled = await user.ask("/cancel")
    assert cancelled.text == text_of("dialog.cancelled")
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
        assert said(
            (await user.ask(f"/checkin {await code(h, 'C1')}")).text, "attendance.checkin.ok"
        )


# -- check-out ------------------------------------------------------------------------------


async def test_checkout_in_the_window(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 50))
    assert said((await trainee.ask("/checkout")).text, "attendance.checkout.not_in")
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(11, 45))
    reply = await trainee.ask("/checkout")
    assert said(reply.text, "attendance.checkout.ok", at="11:45")
    assert await status_of(h, "T2") == "present"
    assert said((await trainee.ask("/checkout")).text, "attendance.checkout.already", at="11:45")


async def test_early_leave_needs_confirmation(h: Harness) -> None:
    trainee = await h.register("T2")
    h.clock.set(at(9, 50))
    await trainee.ask(f"/checkin {await code(h)}")
    h.clock.set(at(10, 30))
    question = await trainee.ask("/checkout")
    assert said(question.text, "attendance.checkout.confirm") and "11:45" in question.text
    await trainee.press(question, "不走了")
    assert said((await edited(h, question)).text, "attendance.checkout.stayed")
    assert await status_of(h, "T2") == "present"
    question = await trainee.ask("/checkout")
    await trainee.press(question, "确定离开（记为早退）")
    assert said((await edited(h, question)).text, "attendance.checkout.early", at="10:30")
    assert await status_of(h, "T2") == "early_leave"
    # A second press of the old button changes nothing.
    a = await activity(h)
    await trainee.press_data(question, f"att:leave:{a.pk}")
    assert said((await edited(h, question, 2)).text, "attendance.checkout.already", at="10:30")
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
    notice = await absent.next_message(predicate=lambda e: said(e.text, "attendance.notice.absent"))
    assert "读书交流" in notice.text
    roll = await leader.next_message(predicate=lambda e: said(e.text, "attendance.notice.closed"))
    assert said(roll.text, "attendance.notice.closed", present=1, absent=2)
    assert (await h.tick(minutes=5))["attendance.close"] == 0
    assert await count_records(h) == 3
    assert not any(said(m.text, "attendance.notice.absent") for m in present.messages())


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
        assert all(said(
            r.text, "attendance.checkin.ok"
        ) for r in replies), [r.text for r in replies]
        assert await count_records(h, "B1") == 50
        # And all at once again: every one answered "already", still 50 records.
        again = await asyncio.gather(*(u.ask(f"/checkin {the_code}", timeout=30)
                                       for u in users[:10]))
        assert all(said(r.text, "attendance.checkin.already") for r in again)
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
    assert said(reply.text, "attendance.view.own_header", year=2026)
    assert said(reply.text, "attendance.view.count", status=PRESENT, count=1)
    assert said(reply.text, "attendance.view.count", status=ABSENT, count=0)
    assert said(reply.text, "attendance.view.own_line", title="读书交流", status=PRESENT)


async def test_leader_corrects_with_reason_and_audit(h: Harness) -> None:
    leader = await h.register("L1")
    trainee = await h.register("T2")
    h.clock.set(at(9, 45))
    await h.tick(hours=3)  # closes: everyone absent
    trainee.skip_pending()
    leader.skip_pending()
    roll = await leader.ask("/attendance")
    assert said(
        roll.text, "attendance.view.roll_line", name="黄志强", member_id="T1", status=ABSENT
    )
    assert said(
        roll.text, "attendance.view.roll_line", name="邹立新", member_id="T2", status=ABSENT
    )
    await leader.press(roll, "✏️ 更正考勤")
    members = await leader.next_message()
    await leader.press(members, next(t for t in members.button_texts if "邹立新" in t))
    statuses = await edited(h, members)
    assert said(statuses.text, "attendance.fix.pick_status")
    await leader.press(statuses, "请假")
    assert said((await edited(h, statuses, 2)).text, "attendance.fix.ask_reason")
    done = await leader.ask("提前请过假，组长同意")
    assert said(done.text, "attendance.fix.done", old=ABSENT, new=EXCUSED)
    assert await status_of(h, "T2") == "excused"
    rows = await h.services.db.fetchall(
        "SELECT old_status, new_status, reason, m.member_id FROM attendance_corrections c"
        " JOIN members m ON m.id = c.actor_pk"
    )
    assert [tuple(r) for r in rows] == [("absent", "excused", "提前请过假，组长同意", "L1")]
    await h.flush()
    notice = await trainee.next_message(predicate=lambda e: said(
        e.text, "attendance.notice.corrected"
    ))
    assert "罗宏伟" in notice.text and "提前请过假" in notice.text
    # The roll now shows the correction.
    roll = await leader.ask("/attendance G1")
    assert said(
        roll.text, "attendance.view.roll_line", name="邹立新", member_id="T2", status=EXCUSED
    )
    assert said(roll.text, "attendance.view.corrections")


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
    assert said(
        own.text, "attendance.view.own_header", year=2026
    )  # a trainee gets their own record, not the roll
    for user in (trainee, other_leader):
        probe = await user.ask("/attendance")
        answer = await user.press_data(probe, f"att:fixs:{a.pk}:{t1.pk}:present")
        assert answer.show_alert and said(answer.text, "error.forged")
    assert said((await other_leader.ask("/attendance G1")).text, "attendance.view.forbidden")
    assert await status_of(h, "T1") == "absent"
    # HR can open any activity and correct it.
    pick = await hr.ask("/attendance")
    await hr.press(pick, next(t for t in pick.button_texts if "读书交流" in t))
    fix = text_of("attendance.view.fix_button")
    roll = await hr.next_message(predicate=lambda e: fix in e.button_texts)
    await hr.press(roll, fix)
    members = await hr.next_message(predicate=lambda e: said(e.text, "attendance.fix.pick_member"))
    await hr.press(members, next(t for t in members.button_texts if "黄志强" in t))
    statuses = await edited(h, members)
    await hr.press(statuses, "迟到")
    await edited(h, statuses, 2)
    assert said((await hr.ask("签到机故障，实际迟到 5 分钟")).text, "attendance.fix.done")
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
    assert said(own.text, "attendance.view.own_header", name="罗宏伟", year=2026)
    assert said(own.text, "attendance.view.count", status=ABSENT, count=2)
