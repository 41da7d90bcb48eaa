"""Demo scenes of credits: a few weeks of roll calls give everyone points; a trainee's year as a
chart, the leader's and HR's rankings, a hand adjustment, HR's attendance heatmap; then exam
results and a satisfaction vote lead to two exit proposals, one confirmed and one dismissed.

The charts are saved as PNG files under `<--keep DIR>/charts/`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.demo.play import Demo
from bot.demo.scenes import Scene
from bot.sandbox.model import Entry

ORDER = 60
CHART_DIR = "charts"
# Members no other scene uses, so an exit here changes nobody else's story.
EXITING, DISMISSED = "M009", "M008"
# Earlier roll calls of the year, before the demo's first day: (date, group, statuses). They
# have no host, so the reports feature expects no report of them.
HISTORY: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("2026-01-10", "第一组", {"M001": "present", "M002": "present", "M003": "present",
                       "M004": "late", "M005": "absent"}),
    ("2026-01-10", "第二组", {"M006": "present", "M007": "present", "M008": "present",
                       "M009": "absent", "M010": "present"}),
    ("2026-01-24", "第一组", {"M001": "present", "M002": "late", "M003": "present",
                       "M004": "present", "M005": "excused"}),
    ("2026-01-24", "第二组", {"M006": "present", "M007": "early_leave",
                       "M008": "present", "M009": "absent", "M010": "present"}),
    ("2026-02-07", "第一组", {"M001": "present", "M002": "present", "M003": "late",
                       "M004": "present", "M005": "absent"}),
    ("2026-02-21", "第二组", {"M006": "present", "M007": "present", "M008": "late",
                       "M009": "present", "M010": "present"}),
)



def _hr(demo: Demo) -> str:
    return next(m for m in demo.codes if m.startswith("H"))


def _save(demo: Demo, entry: Entry, name: str) -> Path | None:
    """Keeps a chart the bot sent (under the kept directory when `--keep` was given)."""
    if entry.file_bytes is None:
        return None
    folder = demo.config.base_dir / CHART_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(entry.file_bytes)
    return path


async def _history(demo: Demo) -> None:
    """Past group studies of the two groups, with their roll calls closed."""
    from bot.app import services_of
    from storage import activities as activities_repo
    from storage import attendance as attendance_repo
    from storage import members as members_repo
    from storage.db import ts

    services = services_of(demo.app)
    tz = demo.clock.tz
    async with services.db.tx() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for day, group, statuses in HISTORY:
            activity_id = f"CR-{day}-{groups[group]}"
            if await activities_repo.activity_id_taken(conn, activity_id):
                continue
            start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(14, 30), tz)
            end = start + dt.timedelta(hours=2)
            pk = await activities_repo.insert(
                conn, activity_id=activity_id, type="group_study", title="读书交流会",
                group_id=groups[group], start_at=ts(start), end_at=ts(end), location="",
                lat=None, lon=None, radius_m=None, host_pk=None, secret="demo",
                source="import", created_by=None, now=ts(start), closed_at=ts(end),
            )
            await attendance_repo.close(
                conn, pk, {pks[m]: status for m, status in statuses.items()}, ts(end)
            )


async def scene_credits(demo: Demo) -> None:
    """A few weeks of roll calls count; HR adds points by hand; a trainee sees the year as a
    chart and the entries behind it; the leader sees the group's ranking and who is below the
    line; HR sees everyone and the attendance heatmap."""
    hr_id = _hr(demo)
    await demo.register("M001", "M002", "M006", hr_id)
    await _history(demo)
    hr = demo.person(hr_id)
    await hr.ask("/adjust M003 +3 读书心得在全县交流")
    await demo.flush()
    trainee = demo.person("M002")
    chart = await trainee.ask("/credits")
    _save(demo, chart, "credits-M002.png")
    await trainee.press(chart, "📒 学分明细")
    await trainee.next_message()
    leader = demo.person("M001")
    group = await leader.ask("/ranking")
    _save(demo, group, "ranking-第一组.png")
    await leader.next_message()
    everyone = await hr.ask("/ranking")
    _save(demo, everyone, "ranking-全体.png")
    await hr.next_message()
    menu = await hr.ask("/heatmap")
    await hr.press(menu, "第一组")
    heatmap = await hr.next_message()
    _save(demo, heatmap, "heatmap-第一组.png")


async def scene_exits(demo: Demo) -> None:
    """HR imports exam results and a satisfaction vote; the bot proposes two exits. HR confirms
    one (the member and the leader are told) and dismisses the other; nobody is asked twice."""
    from bot.app import services_of
    from storage import exits as exits_repo
    from storage import members as members_repo
    from storage.db import ts

    hr_id = _hr(demo)
    await demo.register(EXITING, DISMISSED, "M006", hr_id)
    services = services_of(demo.app)
    async with services.db.tx() as conn:
        exiting = await members_repo.by_member_id(conn, EXITING)
        dismissed = await members_repo.by_member_id(conn, DISMISSED)
        assert exiting is not None and dismissed is not None
        now = ts(demo.clock.now())
        await exits_repo.upsert_exams(conn, [
            (exiting.pk, "2025秋", 52.0), (exiting.pk, "2026春", 48.0),
            (dismissed.pk, "2025秋", 78.0), (dismissed.pk, "2026春", 81.0),
        ], now)
        await exits_repo.upsert_satisfaction(conn, [(dismissed.pk, 2025, 0.76)], now)
    hr = demo.person(hr_id)
    before = hr.messages()[-1].message_id if hr.messages() else 0
    await demo.tick(minutes=1)

    async def proposal_for(name: str) -> Entry:
        return await demo.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: "退出建议" in e.text and name in e.text, after=before)

    notice = await proposal_for(exiting.name)
    await hr.press(notice, "✅ 确认退出")
    ask = await demo.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == notice.message_id and "确定吗" in e.text,
        after=notice.message_id - 1)
    await hr.press(ask, f"确认，{exiting.name}退出")
    other = await proposal_for(dismissed.name)
    await hr.press(other, "✖️ 不予退出")
    await demo.flush()
    await hr.ask("/exits")


SCENES: list[Scene] = [scene_credits, scene_exits]
