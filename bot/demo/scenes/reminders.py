"""Demo scenes of reminders and digests: a trainee mutes reminders, an activity's 60-minute
reminder reaches the others, HR asks for today's digest."""

from __future__ import annotations

import datetime as dt

from bot.demo.play import Demo
from bot.demo.scenes import Scene

ORDER = 70



async def scene_mute(demo: Demo) -> None:
    """A trainee on a business trip mutes reminders (buttons, then a date range) and checks."""
    await demo.register("M004")
    trainee = demo.person("M004")
    menu = await trainee.ask("/mute")
    await trainee.press(menu, "3 天")
    today = demo.clock.now().date()
    await trainee.ask(f"/mute {today + dt.timedelta(days=10)} {today}")
    await trainee.ask(f"/mute {today + dt.timedelta(days=10)} {today + dt.timedelta(days=12)}")


async def scene_reminder(demo: Demo) -> None:
    """An activity of 第一组 starts in 70 minutes: ten minutes later its reminder reaches the
    group, except the trainee who muted reminders."""
    from bot.activities.scheduling import new_secret
    from bot.app import services_of
    from storage import activities as activities_repo
    from storage import members as members_repo
    from storage.db import ts

    for member_id in ("M001", "M002", "M003", "M004"):
        await demo.register(member_id)
    services = services_of(demo.app)
    start = demo.clock.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=70)
    async with services.db.tx() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
        host = await members_repo.by_member_id(conn, "M003")
        await activities_repo.insert(
            conn, activity_id="DEMO-REMIND", type="group_study", title="读书分享：《给教师的建议》",
            group_id=groups["第一组"], start_at=ts(start),
            end_at=ts(start + dt.timedelta(hours=2)), location="北山小学会议室", lat=None,
            lon=None, radius_m=None, host_pk=host.pk if host else None, secret=new_secret(),
            source="import", created_by=None, now=services.now_ts(),
        )
    await demo.tick(minutes=10)


async def scene_digest(demo: Demo) -> None:
    """HR asks for today's digest: activities, reading, who the bot cannot reach."""
    hr_id = next(m for m in demo.codes if m.startswith("H"))
    await demo.register(hr_id)
    await demo.person(hr_id).ask("/digest")
    await demo.flush()


SCENES: list[Scene] = [scene_mute, scene_reminder, scene_digest]
