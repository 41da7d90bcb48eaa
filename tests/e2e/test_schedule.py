"""/schedule and /upcoming end to end: a leader creates, moves and cancels a group activity, the
host proposed by rotation, the group told in each member's language; /upcoming per role."""

from __future__ import annotations

from bot.activities.importer import run_import
from bot.sandbox.client import Entry, SandboxUser
from storage import activities as activities_repo
from storage import members as members_repo
from tests.helpers import Harness, edited, import_schedule, said, schedule_rows, text_of


def when(date: str, weekday: int, start: str, end: str, lang: str = "zh") -> str:
    """An activity's time as the catalog renders it (weekday 0 is Monday)."""
    return text_of("attendance.when", lang, date=date,
                   weekday=text_of(f"attendance.weekday.{weekday}", lang), start=start, end=end)


async def create(leader: SandboxUser, host_button: str | None = None,
                 when: str = "2026-03-10 15:30") -> tuple[str, list[str], Entry]:
    """Runs the creation dialog; returns the host question, its buttons, the confirmation."""
    menu = await leader.ask("/schedule")
    await leader.press(menu, "➕ 新建活动")
    assert said((await leader.next_message()).text, "attendance.schedule.ask_title")
    assert said((await leader.ask("案例剖析：课堂管理")).text, "attendance.schedule.ask_when")
    duration = await leader.ask(when)
    assert said(duration.text, "attendance.schedule.ask_duration")
    await leader.press(duration, "120 分钟")
    assert said((await leader.next_message()).text, "attendance.schedule.ask_place")
    hosts = await leader.ask("实验小学会议室")
    assert said(hosts.text, "attendance.schedule.ask_host")
    buttons = list(hosts.button_texts)  # the press removes them
    await leader.press(hosts, host_button or buttons[0])
    done = await leader.next_message()
    return hosts.text, buttons, done


async def registered(h: Harness, *member_ids: str) -> dict[str, SandboxUser]:
    """Registers the members; the leaders' "new member" notices are delivered and skipped."""
    users = {member_id: await h.register(member_id) for member_id in member_ids}
    await h.flush()
    for user in users.values():
        user.skip_pending()
    return users


async def test_leader_creates_with_rotation_and_group_is_told(h: Harness) -> None:
    users = await registered(h, "L1", "T1", "T2", "T3")
    # T1 hosted last time, L1 the time before: T2 has never hosted, so it is T2's turn.
    await import_schedule(
        h,
        "G0,group_study,旧活动,第一组,2026-02-02 15:30,2026-02-02 17:30,,,,L1",
        "G1,group_study,旧活动,第一组,2026-02-16 15:30,2026-02-16 17:30,,,,T1",
    )
    for user in users.values():
        user.skip_pending()
    question, buttons, done = await create(users["L1"])
    assert buttons == [text_of("attendance.schedule.proposed", name="邹立新"), "罗宏伟", "黄志强"]
    assert said(question, "attendance.schedule.ask_host", name="邹立新")
    assert said(done.text, "attendance.schedule.created")
    assert when("2026-03-10", 1, "15:30", "17:30") in done.text
    async with h.services.db.read() as conn:
        t2_member = await members_repo.by_member_id(conn, "T2")
        assert t2_member is not None
        created = await activities_repo.for_member(
            conn, t2_member, start_from="2026-03-01 00:00:00"
        )
    assert [(a.title, a.host_member_id, a.source) for a in created] == [
        ("案例剖析：课堂管理", "T2", "chat")
    ]
    await h.flush()
    t2 = users["T2"]
    notice = await t2.next_message(predicate=lambda e: said(e.text, "attendance.notice.new"))
    assert said(notice.text, "attendance.notice.you_host") and "实验小学会议室" in notice.text
    t1 = users["T1"]
    notice = await t1.next_message(predicate=lambda e: said(e.text, "attendance.notice.new"))
    assert not said(notice.text, "attendance.notice.you_host")
    # The other group hears nothing, the leader gets no notice of their own change.
    assert not any(said(m.text, "attendance.notice.new") for m in users["T3"].messages())
    assert not any(said(m.text, "attendance.notice.new") for m in users["L1"].messages())


async def test_leader_may_pick_another_host(h: Harness) -> None:
    users = await registered(h, "L1", "T1")
    _, _, done = await create(users["L1"], host_button="黄志强")
    assert said(done.text, "attendance.card", host="黄志强")


async def test_move_and_cancel_notify_in_the_members_language(h: Harness) -> None:
    users = await registered(h, "L1", "T1")
    async with h.services.db.tx() as conn:
        t1 = await members_repo.by_member_id(conn, "T1")
        assert t1 is not None
        await members_repo.set_language(conn, t1.pk, "en", h.services.now_ts())
    await create(users["L1"])
    leader = users["L1"]
    menu = await leader.ask("/schedule")
    assert "案例剖析：课堂管理" in menu.text
    await leader.press(menu, "🕒 调整时间")
    pick = await leader.next_message()
    await leader.press(pick, pick.button_texts[0])
    assert said((await edited(h, pick)).text, "attendance.schedule.ask_move")
    reply = await leader.ask("3-11 9:00")
    assert said(reply.text, "attendance.schedule.moved")
    assert when("2026-03-11", 2, "09:00", "11:00") in reply.text
    await h.flush()
    t1_user = users["T1"]
    moved = await t1_user.next_message(predicate=lambda e: said(
        e.text, "attendance.notice.moved", lang="en"
    ))
    assert when("2026-03-11", 2, "09:00", "11:00", lang="en") in moved.text
    assert said(moved.text, "attendance.notice.moved", lang="en",
                old=when("2026-03-10", 1, "15:30", "17:30", lang="en"))
    menu = await leader.ask("/schedule")
    await leader.press(menu, "❌ 取消活动")
    pick = await leader.next_message()
    await leader.press(pick, pick.button_texts[0])
    confirm = await edited(h, pick)
    await leader.press(confirm, "确定取消")
    assert said((await edited(h, confirm, 2)).text, "attendance.schedule.cancelled")
    await h.flush()
    cancelled = await t1_user.next_message(predicate=lambda e: said(
        e.text, "attendance.notice.cancelled", lang="en"
    ))
    assert "案例剖析" in cancelled.text
    assert said((await leader.ask("/schedule")).text, "attendance.schedule.empty")


async def test_schedule_refusals(h: Harness) -> None:
    users = await registered(h, "L1", "L2", "T1")
    trainee = users["T1"]
    assert said((await trainee.ask("/schedule")).text, "attendance.schedule.leaders_only")
    leader = users["L1"]
    menu = await leader.ask("/schedule")
    await leader.press(menu, "➕ 新建活动")
    await leader.next_message()
    await leader.ask("主题")
    assert said((await leader.ask("2026-03-01 10:00")).text, "attendance.schedule.past")
    assert said((await leader.ask("下周二")).text, "attendance.schedule.bad_when")
    # Another group's leader cannot move 第一组's activity, even with forged button data.
    await import_schedule(
        h, "G1,group_study,读书交流,第一组,2026-03-09 15:30,2026-03-09 17:30,,,,T1"
    )
    async with h.services.db.read() as conn:
        a = await activities_repo.by_activity_id(conn, "G1")
    assert a is not None
    other = users["L2"]
    probe = await other.ask("/schedule")
    answer = await other.press_data(probe, f"sch:cxy:{a.pk}")
    assert answer.show_alert and said(answer.text, "error.forged")
    async with h.services.db.read() as conn:
        still = await activities_repo.by_activity_id(conn, "G1")
    assert still is not None and still.status == "scheduled"


async def test_upcoming_per_role(h: Harness) -> None:
    users = await registered(h, "T1", "T3", "H1")
    await import_schedule(
        h,
        "G1,group_study,读书交流,第一组,2026-03-09 15:30,2026-03-09 17:30,会议室,,,T1",
        "G2,group_study,案例剖析,第二组,2026-03-10 15:30,2026-03-10 17:30,会议室,,,T3",
        "C1,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,,,",
    )
    for user in users.values():
        user.skip_pending()
    t1 = await users["T1"].ask("/upcoming")
    assert "读书交流" in t1.text and "主题培训" in t1.text and "案例剖析" not in t1.text
    assert said(t1.text, "attendance.notice.you_host")
    hr = await users["H1"].ask("/upcoming")
    assert all(title in hr.text for title in ("读书交流", "案例剖析", "主题培训"))


async def test_import_notifies_participants_once(h: Harness) -> None:
    users = await registered(h, "T1", "T3")
    await import_schedule(
        h,
        "G1,group_study,读书交流,第一组,2026-03-09 15:30,2026-03-09 17:30,会议室,,,T1",
        "C1,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,,,",
    )
    t1_notice = [m for m in users["T1"].messages() if said(m.text, "attendance.notice.imported")]
    t3_notice = [m for m in users["T3"].messages() if said(m.text, "attendance.notice.imported")]
    assert len(t1_notice) == 1 and said(t1_notice[0].text, "attendance.notice.imported", count=2)
    assert len(t3_notice) == 1 and said(t3_notice[0].text, "attendance.notice.imported", count=1)
    # The same file again changes nothing and tells nobody.
    await import_schedule(
        h,
        "G1,group_study,读书交流,第一组,2026-03-09 15:30,2026-03-09 17:30,会议室,,,T1",
        "C1,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,,,",
    )
    assert len([m for m in users["T1"].messages() if said(
        m.text, "attendance.notice.imported"
    )]) == 1


async def test_reimport_with_cancel_missing_tells_the_members(h: Harness) -> None:
    """HR re-imports a corrected schedule with --cancel-missing: the activity no longer in the
    file is cancelled and its participants are told, each in their language, like a cancel in
    chat; the other group hears nothing and /upcoming no longer shows it."""
    users = await registered(h, "L1", "T1", "L2")
    async with h.services.db.tx() as conn:
        t1 = await members_repo.by_member_id(conn, "T1")
        assert t1 is not None
        await members_repo.set_language(conn, t1.pk, "en", h.services.now_ts())
    keep = "G1,group_study,读书交流,第一组,2026-03-05 15:30,2026-03-05 17:30,会议室,,,L1"
    drop = "G2,group_study,案例剖析,第一组,2026-03-12 15:30,2026-03-12 17:30,会议室,,,T1"
    await import_schedule(h, keep, drop)
    for user in users.values():
        user.skip_pending()

    rows = schedule_rows(keep)
    result, problems = await run_import(
        h.services.db, h.config, rows, h.clock.now(), "zh", cancel_missing=True
    )
    assert problems == [] and result is not None and result.cancelled_missing == ["G2"]
    await h.flush()
    notice = await users["L1"].next_message(predicate=lambda e: said(
        e.text, "attendance.notice.cancelled"
    ))
    assert "案例剖析" in notice.text and "2026-03-12" in notice.text
    notice = await users["T1"].next_message(predicate=lambda e: said(
        e.text, "attendance.notice.cancelled", lang="en"
    ))
    assert "案例剖析" in notice.text
    assert not any("案例剖析" in m.text for m in users["L2"].messages())
    upcoming = await users["T1"].ask("/upcoming")
    assert "读书交流" in upcoming.text and "案例剖析" not in upcoming.text
