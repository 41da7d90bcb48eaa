"""Demo scenes of leave: a trainee asks for leave from a group study and the group leader
approves it with one tap; a trainee of another group asks too late, is told whom to contact,
and HR records the request after the fact and rejects it with a reason."""

from __future__ import annotations

import datetime as dt

from bot.demo.play import Demo
from bot.demo.scenes import Scene

ORDER = 30



async def _activity(
    demo: Demo, activity_id: str, title: str, group: str, start: dt.datetime, location: str
) -> None:
    """A group study of `group` at `start` (two hours), as HR's schedule import would add it."""
    from bot.activities.scheduling import new_secret
    from bot.app import services_of
    from storage import activities as activities_repo
    from storage.db import ts

    services = services_of(demo.app)
    async with services.db.tx() as conn:
        if await activities_repo.activity_id_taken(conn, activity_id):
            return
        groups = await activities_repo.group_ids_by_name(conn)
        await activities_repo.insert(
            conn, activity_id=activity_id, type="group_study", title=title,
            group_id=groups[group], start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)),
            location=location, lat=None, lon=None, radius_m=None, host_pk=None,
            secret=new_secret(), source="import", created_by=None, now=services.now_ts(),
        )


async def scene_ask_and_approve(demo: Demo) -> None:
    """邹立新 picks tomorrow's group study from /leave, gives the reason and sends it; the
    leader 罗宏伟 gets it with this year's count and approves with one tap; 邹立新 is told."""
    await demo.register("M001", "M003")
    tomorrow = demo.clock.now().date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(15, 30), demo.clock.tz)
    title = "专题研讨：家校沟通"
    await _activity(demo, "DEMO-LEAVE", title, "第一组", start, "育才小学会议室")
    trainee, leader = demo.person("M003"), demo.person("M001")
    menu = await trainee.ask("/leave")
    await trainee.press(menu, next(b for b in menu.button_texts if title in b))
    await trainee.next_message(predicate=lambda e: "请假理由" in e.text)
    confirm = await trainee.ask("明天上午县里组织毕业班质量分析会，下午要陪同调研，无法参加。")
    edits = confirm.edits
    await trainee.press(confirm, "✅ 确认提交")
    await demo.sandbox.wait_for_bot_message(
        confirm.chat_id, lambda e: e is confirm and e.edits > edits,
        after=confirm.message_id - 1,
    )
    await demo.flush()
    card = await leader.next_message(predicate=lambda e: "请假申请 #" in e.text and bool(e.buttons))
    await leader.press(card, "批准")
    await demo.sandbox.wait_for_bot_message(
        card.chat_id, lambda e: e is card and e.edits > 0, after=card.message_id - 1
    )
    await demo.flush()
    await trainee.next_message(predicate=lambda e: "已获批准" in e.text)
    await trainee.ask("/leaves")


async def scene_late_rejected(demo: Demo) -> None:
    """孙梓萌 asks for leave from a group study that has already begun: the bot refuses and names
    the leader to contact. HR records it after the fact with /excuse (flagged late) and rejects
    it with a reason; 孙梓萌 is told, and sees it in /leaves."""
    hr_id = next(m for m in demo.codes if m.startswith("H"))
    await demo.register("M007", hr_id)
    start = demo.clock.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=15)
    await _activity(demo, "DEMO-LATE", "课例研讨：初中数学复习课", "第二组", start,
                    "第二中学会议室")
    trainee, hr = demo.person("M007"), demo.person(hr_id)
    await trainee.ask("/leave DEMO-LATE")
    shown = await hr.ask("/excuse M007 DEMO-LATE 路上堵车，赶不上了")
    await hr.press(shown, "驳回")
    await hr.next_message(predicate=lambda e: "驳回理由" in e.text)
    await hr.ask("堵车不属于请假事由，请尽快赶到现场签到（迟到照常记录）。")
    await demo.flush()
    await trainee.next_message(predicate=lambda e: "未获批准" in e.text)
    await trainee.ask("/leaves")


SCENES: list[Scene] = [scene_ask_and_approve, scene_late_rejected]
