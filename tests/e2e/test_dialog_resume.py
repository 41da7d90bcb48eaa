"""Saved dialogs end to end: a half-filled form (/schedule, /leave) survives a restart, one
older than `[dialog] resume_hours` is dropped, an ended dialog leaves no row, a step replayed
from the inbox meets its restored dialog, and a command that ends a dialog showing a reply
keyboard takes the keyboard away."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.app import build_application, start_app, stop_app
from bot.delivery.inbox import Inbox
from bot.sandbox.client import SandboxUser
from storage.db import open_database
from tests.e2e.test_attendance import VENUE, code
from tests.e2e.test_leave import SCHEDULE
from tests.helpers import (
    TZ,
    Crash,
    Harness,
    edited,
    import_schedule,
    restart,
    running_bot,
    said,
    settled,
    text_of,
)

IDLE = text_of("dialog.idle")


async def rows(h: Harness) -> dict[int, dict[str, object]]:
    """{telegram user id: saved state} once what was handed to the app has finished."""
    await settled(h)
    found = await h.services.db.fetchall("SELECT user_id, state FROM dialogs")
    return {int(r[0]): json.loads(r[1]) for r in found}


async def rows_in(path: Path) -> dict[int, str]:
    db = await open_database(path)
    try:
        return {int(r[0]): str(r[1]) for r in await db.fetchall("SELECT * FROM dialogs")}
    finally:
        await db.close()


async def test_schedule_half_done_resumes_after_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        leader = await h.register("L1")
        menu = await leader.ask("/schedule")
        await leader.press(menu, "➕ 新建活动")
        assert said((await leader.next_message()).text, "attendance.schedule.ask_title")
        assert said((await leader.ask("案例剖析：课堂管理")).text, "attendance.schedule.ask_when")
        saved = await rows(h)
        assert saved[leader.id]["step"] == "when"
        await restart(h)
        duration = await leader.ask("2026-03-10 15:30")
        assert said(duration.text, "attendance.schedule.ask_duration"), duration.text
        await leader.press(duration, "120 分钟")
        assert said((await leader.next_message()).text, "attendance.schedule.ask_place")
        hosts = await leader.ask("实验小学会议室")
        assert said(hosts.text, "attendance.schedule.ask_host")
        await leader.press(hosts, hosts.button_texts[0])
        await leader.next_message()
        found = await h.services.db.fetchall(
            "SELECT title, location, start_at FROM activities WHERE created_by IS NOT NULL")
        assert [tuple(r) for r in found] == [
            ("案例剖析：课堂管理", "实验小学会议室", "2026-03-10 07:30:00")]
        assert await rows(h) == {}  # done: no row left


async def leave_prompt(h: Harness, user: SandboxUser) -> None:
    prompt = await user.ask("/leave G1")
    assert said(prompt.text, "leave.ask.reason"), prompt.text
    await settled(h)  # saved (at the clock's time) before a test moves the clock


async def test_leave_reason_survives_restart_and_finishes(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await import_schedule(h, *SCHEDULE)
        user = await h.register("T1")
        await leave_prompt(h, user)
        await restart(h)
        confirm = await user.ask("家中有事")
        assert said(confirm.text, "leave.ask.confirm") and "家中有事" in confirm.text, confirm.text
        await user.press(confirm, "✅ 确认提交")
        await edited(h, confirm)
        requests = await h.services.db.fetchall("SELECT reason FROM leave_requests")
        assert [r[0] for r in requests] == ["家中有事"]
        assert await rows(h) == {}


async def test_a_dialog_older_than_resume_hours_is_dropped(tmp_path: Path) -> None:
    async with running_bot(tmp_path, dialog={"resume_hours": 1}) as h:
        await import_schedule(h, *SCHEDULE)
        young, old = await h.register("T1"), await h.register("T2")
        await leave_prompt(h, old)
        h.clock.advance(minutes=50)
        await leave_prompt(h, young)
        h.clock.advance(minutes=20)  # old: 70 minutes, young: 20
        await restart(h)
        assert IDLE in (await old.ask("家中有事")).text
        assert said((await young.ask("身体不适")).text, "leave.ask.confirm")
        saved = await rows(h)
        assert old.id not in saved and saved[young.id]["step"] == "confirm"


async def test_an_ended_dialog_leaves_no_row(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await import_schedule(h, *SCHEDULE)
        user = await h.register("T1")
        await leave_prompt(h, user)
        assert user.id in await rows(h)
        await user.ask("/cancel")
        assert await rows(h) == {}
        await leave_prompt(h, user)
        assert user.id in await rows(h)
        await user.ask("/me")  # another command ends it too
        assert await rows(h) == {}
        await restart(h)
        assert IDLE in (await user.ask("家中有事")).text


async def test_a_replayed_step_meets_its_restored_dialog(
    tmp_path: Path, crash: Crash
) -> None:
    async with running_bot(tmp_path) as h:
        await import_schedule(h, *SCHEDULE)
        user = await h.register("T1")
        await leave_prompt(h, user)
        await settled(h)
        crash.start()  # the reason is stored in the inbox, then the process "dies"
        await user.send("家中有事")
        await crash.wait(1)
        crash.end()
        await restart(h)  # restores the dialog, then replays the reason
        confirm = await user.next_message()
        assert said(confirm.text, "leave.ask.confirm") and "家中有事" in confirm.text, confirm.text
        await user.press(confirm, "✅ 确认提交")
        await edited(h, confirm)
        assert await rows(h) == {}


async def test_a_step_handled_but_not_deleted_is_replayed_on_the_state_it_met(
    tmp_path: Path, crash: Crash
) -> None:
    """The dialog write goes with the delete of the update's inbox row: if neither happened
    (the process died right after the answer), the replay meets the state before the step,
    not the one the step left (which would take the title for the time)."""
    async with running_bot(tmp_path) as h:
        leader = await h.register("L1")
        menu = await leader.ask("/schedule")
        await leader.press(menu, "➕ 新建活动")
        await leader.next_message()
        await settled(h)
        async def nothing(self: Inbox) -> None:
            return None

        crash._mp.setattr(Inbox, "_delete_finished", nothing)  # the process dies first
        assert said((await leader.ask("案例剖析：课堂管理")).text, "attendance.schedule.ask_when")
        await settled(h)
        await stop_app(h.app)  # still committing nothing
        saved = await rows_in(h.config.db_path)
        assert json.loads(saved[leader.id])["step"] == "title"
        crash.end()
        h.app = build_application(h.config, h.options)
        await start_app(h.app)
        assert said(
            (await leader.next_message()).text, "attendance.schedule.ask_when"
        )  # the title, again
        assert said((await leader.ask("2026-03-10 15:30")).text, "attendance.schedule.ask_duration")


async def test_a_command_ending_the_location_step_removes_the_button(tmp_path: Path) -> None:
    async with running_bot(tmp_path, checkin={"require_location": True, "radius_m": 200}) as h:
        await import_schedule(
            h, f"C1,collective,主题培训,,2026-03-02 10:00,2026-03-02 16:00,报告厅,"
               f"{VENUE[0]},{VENUE[1]},",
        )
        user = await h.register("T3")
        h.clock.set(dt.datetime(2026, 3, 2, 9, 50, tzinfo=TZ))
        ask = await user.ask(f"/checkin {await code(h, 'C1')}")
        assert ask.reply_markup is not None and "keyboard" in ask.reply_markup
        me = await user.ask("/me")
        assert me.reply_markup == {"remove_keyboard": True}
        assert (await user.ask("/me")).reply_markup is None  # once is enough
