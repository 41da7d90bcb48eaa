"""Reminders and digests end to end: a simulated fortnight around China's National Day 2026
(weekend, holiday week, make-up working Saturday, quiet hours, a muted trainee, a restart in
the middle of a tick and two downtimes) where every expected message arrives exactly once, on
the right day, in order, and nothing else; /mute, /unmute and HR's /digest."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from bot.activities.scheduling import new_secret
from bot.core import scheduler
from bot.core.clock import ManualClock
from bot.sandbox.client import SandboxUser
from storage import activities as activities_repo
from storage import members as members_repo
from storage import reminders as reminders_repo
from storage.db import parse_ts, ts
from tests.helpers import TZ, Harness, restart, running_bot, said, text_of

PEOPLE = ("L1", "T1", "T2", "L2", "T3", "H1")
MY_KINDS = ("remind.", "digest.")
# What other features send on their own about the same activities (the roll call closing, the
# host's report reminders, leave escalations): allowed, not counted. Anything else fails.
OTHER_KINDS = ("attendance.", "report", "leave.")


def at(month: int, day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hh, mm, tzinfo=TZ)


async def add_activity(
    h: Harness, activity_id: str, type_: str, title: str, group: str | None,
    start: dt.datetime, minutes: int, host: str | None = None,
) -> int:
    async with h.services.db.tx() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
        host_pk = None
        if host:
            member = await members_repo.by_member_id(conn, host)
            assert member is not None
            host_pk = member.pk
        return await activities_repo.insert(
            conn, activity_id=activity_id, type=type_, title=title,
            group_id=groups[group] if group else None, start_at=ts(start),
            end_at=ts(start + dt.timedelta(minutes=minutes)), location="会议室", lat=None,
            lon=None, radius_m=None, host_pk=host_pk, secret=new_secret(), source="import",
            created_by=None, now=h.services.now_ts(),
        )


async def sent_rows(h: Harness) -> dict[tuple[int, int], tuple[str, str]]:
    """(chat id, message id) -> (outbox kind, dedupe key) of every delivered row."""
    rows = await h.services.db.fetchall(
        "SELECT chat_id, message_id, kind, COALESCE(dedupe_key, '') FROM outbox"
        " WHERE status = 'sent'"
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def label(kind: str, key: str, titles: dict[int, str]) -> str:
    """"soon A2" for a reminder (by the activity pk in its key), the kind for a digest."""
    if kind.startswith("remind."):
        activity_pk = int(key.split(":")[2].split("@")[0])
        return f"{kind.removeprefix('remind.')} {titles[activity_pk]}"
    return kind


async def my_messages(
    h: Harness, users: dict[str, SandboxUser], marks: dict[str, int], titles: dict[int, str],
    replies: dict[str, int],
) -> dict[str, list[tuple[str, str]]]:
    """Per person, what arrived after the setup: (label, local "MM-DD HH:MM") of the
    reminders and digests in arrival order. Every message must be an outbox row of ours or of
    an allowed kind, or one of the expected command replies: nothing is sent around the
    outbox, nothing twice."""
    rows = await sent_rows(h)
    out: dict[str, list[tuple[str, str]]] = {}
    for member_id, user in users.items():
        mine: list[tuple[str, str]] = []
        unmatched = 0
        for entry in user.messages()[marks[member_id]:]:
            found = rows.get((user.chat_id, entry.message_id))
            if found is None:
                unmatched += 1
                continue
            kind, key = found
            if kind.startswith(MY_KINDS):
                when = entry.date.astimezone(TZ).strftime("%m-%d %H:%M")
                mine.append((label(kind, key, titles), when))
            else:
                assert kind.startswith(OTHER_KINDS), (member_id, kind)
        assert unmatched == replies.get(member_id, 0), (member_id, unmatched)
        out[member_id] = mine
    return out


EXPECTED: dict[str, list[tuple[str, str]]] = {
    "H1": [
        ("digest.hr", "09-28 08:30"),
        ("digest.hr", "09-29 08:30"),
        ("digest.hr", "09-30 08:30"), ("digest.hr.chart", "09-30 08:30"),
        # 1-7 October: National Day, no digest; the 8th covers the holiday.
        ("digest.hr", "10-08 08:30"),
        # Queued, then the bot restarted before delivering: delivered once after the restart.
        ("digest.hr", "10-09 08:30"), ("digest.hr.chart", "10-09 08:30"),
        # The make-up Saturday's digest fell due while the bot was down; caught up at 05:00
        # (quiet hours), held until 07:00.
        ("digest.hr", "10-11 07:00"), ("digest.hr.chart", "10-11 07:00"),
    ],
    "L1": [
        ("digest.leader", "09-28 08:30"),
        ("day_before A1", "09-28 19:00"),
        ("soon A1", "09-29 14:00"),
        ("day_before A2", "10-07 19:00"),
        ("soon A2", "10-08 06:30"),  # urgent: in the quiet hours all the same
        # Monday 5 October is a holiday: the weekly digest comes on the first working day.
        ("digest.leader", "10-08 08:30"), ("digest.leader.chart", "10-08 08:30"),
        # Due at 19:00 while the bot was down; restarted at 23:30 (quiet): held until 07:00.
        ("day_before A4", "10-09 07:00"),
        ("soon A4", "10-09 14:00"),
        ("digest.trainee", "10-09 17:00"),
    ],
    "T1": [
        ("day_before A1", "09-28 19:00"),
        ("soon A1", "09-29 14:00"),
        ("day_before A2", "10-07 19:00"),
        ("soon A2", "10-08 06:30"),
        ("day_before A4", "10-09 07:00"),
        ("soon A4", "10-09 14:00"),
        ("digest.trainee", "10-09 17:00"),
    ],
    # Muted 7-9 October: nothing about A2 (8th) and A4 (9th), no weekly summary on the 9th.
    "T2": [
        ("day_before A1", "09-28 19:00"),
        ("soon A1", "09-29 14:00"),
    ],
    "L2": [
        ("digest.leader", "09-28 08:30"),
        ("day_before A2", "10-07 19:00"),
        ("day_before A5", "10-07 19:00"),
        ("soon A2", "10-08 06:30"),
        # A5's 60-minute reminder (10-08 19:00) fell in the downtime and A5 was over at the
        # restart: dropped. No group activity ended: no chart.
        ("digest.leader", "10-08 08:30"),
        ("digest.trainee", "10-09 17:00"),
        ("day_before A3", "10-09 19:00"),
        # A3's 60-minute reminder (Saturday 13:00) fell in the second downtime: dropped.
    ],
    "T3": [
        ("day_before A2", "10-07 19:00"),
        ("day_before A5", "10-07 19:00"),
        ("soon A2", "10-08 06:30"),
        ("digest.trainee", "10-09 17:00"),
        ("day_before A3", "10-09 19:00"),
    ],
}


async def test_a_fortnight_around_national_day(tmp_path: Path) -> None:
    clock = ManualClock(at(9, 27, 12))  # Sunday
    async with running_bot(
        tmp_path, clock=clock, start_sender=False,
        digest={"trainee_weekly": "FRI 17:00"}, reading={"nudge_day": 0},
    ) as h:
        users = {m: await h.register(m) for m in PEOPLE}
        specs = [
            ("A1", "group_study", "第一组读书交流", "第一组", at(9, 29, 15), 120, "T1"),
            ("A2", "collective", "节后集中培训", None, at(10, 8, 7, 30), 120, None),
            ("A3", "group_study", "第二组调休日研讨", "第二组", at(10, 10, 14), 120, "T3"),
            ("A4", "group_study", "第一组读书会", "第一组", at(10, 9, 15), 120, "L1"),
            ("A5", "group_study", "第二组夜读", "第二组", at(10, 8, 20), 90, "L2"),
        ]
        titles = {}
        for spec in specs:
            titles[await add_activity(h, *spec)] = spec[0]
        await h.tick()  # the first check after installation: baselines, nothing sent
        marks = {m: len(u.messages()) for m, u in users.items()}

        mute_reply = None
        end = at(10, 11, 12)
        while h.clock.now() < end:
            nxt = h.clock.now() + dt.timedelta(minutes=30)
            if nxt == at(10, 8, 19):
                # Down from 18:30 to 23:30.
                h.clock.set(at(10, 8, 23, 30))
                await restart(h)
                await h.tick()
            elif nxt == at(10, 9, 8, 30):
                # The HR digest is queued, then the bot stops before the outbox sends it.
                h.clock.set(nxt)
                await scheduler.tick(h.services)
                await restart(h)
                await h.tick()
            elif nxt == at(10, 10, 8, 30):
                # Down from the make-up Saturday 08:00 until Sunday 05:00.
                h.clock.set(at(10, 11, 5))
                await restart(h)
                await h.tick()
            else:
                await h.tick(minutes=30)
            if h.clock.now() == at(9, 30, 10):
                mute_reply = await users["T2"].ask("/mute 2026-10-07 2026-10-09")

        assert mute_reply is not None
        assert said(mute_reply.text, "reminders.mute.range", start="2026-10-07", end="2026-10-09")
        got = await my_messages(h, users, marks, titles, {"T2": 1})
        assert got == EXPECTED

        runs = await h.services.db.fetchall(
            "SELECT kind, scope, period, status, covered_from, covered_to FROM digest_runs"
            " WHERE kind = 'hr' ORDER BY period"
        )
        assert [(r["period"], r["status"]) for r in runs] == [
            ("2026-09-24", "baseline"), ("2026-09-28", "sent"), ("2026-09-29", "sent"),
            ("2026-09-30", "sent"), ("2026-10-08", "sent"), ("2026-10-09", "sent"),
            ("2026-10-10", "sent"),
        ]
        # Each covers from where the previous one stopped: no gap, no overlap.
        for before, after in itertools.pairwise(runs):
            assert after["covered_from"] == before["covered_to"]
        holiday = next(r for r in runs if r["period"] == "2026-10-08")
        assert parse_ts(holiday["covered_from"]) == at(9, 30, 8, 30)
        t2 = await h.services.db.fetchone(
            "SELECT d.status FROM digest_runs d JOIN members m ON d.scope = CAST(m.id AS TEXT)"
            " WHERE d.kind = 'trainee' AND m.member_id = 'T2' AND d.period = '2026-W41'"
        )
        assert t2 is not None and t2["status"] == "skipped"

        # What the digests said.
        h1 = [e.text for e in users["H1"].messages()[marks["H1"]:]
              if e.kind == "text" and e.text.startswith("📋")]
        assert said(
            h1[3], "digest.covered", start="09-30 08:30", end="10-08 08:30"
        )  # the holiday digest
        after_holiday = h1[4]
        assert "节后集中培训" in after_holiday and "第二组夜读" in after_holiday
        # Everybody missed A2 (nobody checked in): the absent are named.
        assert "缺勤：罗宏伟、陈静、黄志强、邹立新、王芳" in after_holiday
        leader = [e.text for e in users["L1"].messages()
                  if e.kind == "text" and e.text.startswith("📋 第一组周报")]
        assert len(leader) == 2 and "第一组读书交流" in leader[-1]
        assert "缺勤：罗宏伟、黄志强、邹立新" in leader[-1]
        assert "读书进度" in leader[-1] and "· 邹立新：读书 0/6 本" in leader[-1]
        weekly = [e.text for e in users["T1"].messages()
                  if e.kind == "text" and e.text.startswith("📋")]
        assert "黄志强的学习周报" in weekly[0] and "节后集中培训（10-08 07:30）：缺勤" in weekly[0]


async def test_mute_and_unmute(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:  # Monday 2 March 2026, 09:00
        t1 = await h.register("T1")
        reply = await t1.ask("/mute 2026-03-10 2026-03-15")
        assert said(reply.text, "reminders.mute.range", start="2026-03-10", end="2026-03-15")
        assert said((await t1.ask("/mute next week")).text, "reminders.mute.bad_format")
        assert said((await t1.ask("/mute 2026-03-15 2026-03-10")).text, "reminders.mute.bad_order")
        assert "2026-03-02" in (await t1.ask("/mute 2026-03-01 2026-03-03")).text
        assert "61" not in (reply := await t1.ask("/mute 61")).text and "60" in reply.text
        # Buttons: 3 days from today, merged with nothing (the 10th is later).
        menu = await t1.ask("/mute")
        assert said(menu.text, "reminders.mute.range", start="2026-03-10", end="2026-03-15")
        await t1.press(menu, "3 天")
        done = await h.sandbox.wait_for_bot_message(
            t1.chat_id, lambda e: e is menu and e.edits >= 1, after=menu.message_id - 1
        )
        assert "2026-03-02 至 2026-03-04；2026-03-10 至 2026-03-15" in done.text
        # Adjacent and overlapping ranges merge.
        reply = await t1.ask("/mute 2026-03-05 2026-03-11")
        assert said(
            reply.text,
            "reminders.mute.done",
            ranges=text_of("reminders.mute.range", start="2026-03-02", end="2026-03-15"),
        )
        async with h.services.db.read() as conn:
            member = await members_repo.by_member_id(conn, "T1")
            assert member is not None
            assert len(await reminders_repo.mutes_of(conn, member.pk)) == 1
            assert await reminders_repo.muted_on(conn, dt.date(2026, 3, 15)) == {member.pk}
        # A forged button (days not offered) changes nothing.
        answer = await t1.press_data(menu, "rem:mute:45")
        assert answer.show_alert
        # /unmute frees today and later; the past stays as history.
        h.clock.advance(days=3)
        assert said((await t1.ask("/unmute")).text, "reminders.unmute.done")
        async with h.services.db.read() as conn:
            left = await reminders_repo.mutes_of(conn, member.pk)
        assert [(m.start, m.end) for m in left] == [(dt.date(2026, 3, 2), dt.date(2026, 3, 4))]
        assert said((await t1.ask("/unmute")).text, "reminders.mute.none")
        hr = await h.register("H1")
        assert said((await hr.ask("/mute 3")).text, "reminders.mute.only_participants")


async def test_hr_digest_on_demand_keeps_the_schedule(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start_sender=False) as h:  # Monday 2 March 2026, 09:00
        hr = await h.register("H1")
        t1 = await h.register("T1")
        assert said((await t1.ask("/digest")).text, "digest.hr_only")
        await h.tick()  # baseline: the 08:30 digest of today was before the bot existed
        await add_activity(h, "G1", "group_study", "读书交流", "第一组", at(3, 2, 9, 30), 60, "T1")
        await h.tick(hours=2)  # 11:00: G1 ended at 10:30 and its roll is closed
        before = len(hr.messages())
        reply = await hr.ask("/digest")
        assert reply.text.startswith("📋 人事日报 · 2026-03-02（周一）")
        assert said(reply.text, "digest.manual") and "读书交流" in reply.text
        assert "缺勤：罗宏伟、黄志强、邹立新" in reply.text
        assert said(reply.text, "digest.unreachable.not_started")  # L1, T2, L2, T3 never registered
        chart = await hr.next_message()
        assert chart.media_type == "photo"
        async with h.services.db.read() as conn:
            runs = await reminders_repo.runs(conn, "hr")
        assert [r.status for r in runs] == ["baseline"]
        # The scheduled digest on Tuesday still covers Monday's activity.
        await h.tick(hours=21, minutes=30)  # Tuesday 08:30
        scheduled = [e for e in hr.messages()[before:]
                     if e.kind == "text" and e.text.startswith("📋")]
        assert len(scheduled) == 2 and "读书交流" in scheduled[-1].text
        assert not said(scheduled[-1].text, "digest.manual")


async def test_long_digest_is_split_cleanly(tmp_path: Path) -> None:
    roster = "member_id,name,role,group,school,stage\nH1,周敏,hr,,教育局人事科,\n" + "".join(
        f"X{i:03d},学员{i:03d}号的名字比较长一些,{'leader' if i < 9 else 'trainee'},"
        f"第{i % 9 + 1}组,第{i}小学,小学\n"
        for i in range(260)
    )
    # A cap above the list's length, so the whole list is shown and has to be split.
    async with running_bot(tmp_path, roster=roster, start_sender=False,
                           program={"hr_chat_id": -100777}, digest={"max_names": 300}) as h:
        group = h.sandbox.group(-100777, "人事处")
        await h.tick()  # baseline
        await h.tick(days=1)  # Tuesday 09:00: Tuesday's digest (to the HR chat)
        texts = [e.text for e in group.messages()]
        assert len(texts) >= 2 and all(len(t) <= 4096 for t in texts)
        assert texts[0].startswith("📋 人事日报 · 2026-03-03（周二）")
        lines = "\n".join(texts).splitlines()
        # Every unreachable member once, no line cut in two.
        assert sum(1 for line in lines if line.startswith("· 学员")) == 260
        assert all(said(
            line, "digest.unreachable.not_started"
        ) for line in lines if line.startswith("· 学员"))
        await h.tick(minutes=30)
        assert len(group.messages()) == len(texts)


async def test_a_moved_activity_is_reminded_for_its_new_time(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start_sender=False) as h:  # Monday 09:00
        t1 = await h.register("T1")
        pk = await add_activity(h, "G1", "group_study", "读书交流", "第一组", at(3, 3, 15), 60)
        await h.tick(hours=10)  # Monday 19:00: the day-before reminder
        assert sum(said(e.text, "reminders.day_before") for e in t1.messages()) == 1
        await h.tick(hours=1)
        async with h.services.db.tx() as conn:  # at 20:00, moved to Thursday
            await activities_repo.move(
                conn, pk, ts(at(3, 5, 15)), ts(at(3, 5, 16)), h.services.now_ts()
            )
        for _ in range(2 * 24 * 2):
            await h.tick(minutes=30)  # until Wednesday 20:00
        reminders = [e for e in t1.messages() if e.text.startswith("⏰")]
        assert [e.date.astimezone(TZ).strftime("%m-%d %H:%M") for e in reminders] == [
            "03-02 19:00", "03-04 19:00"]
        assert "2026-03-03" in reminders[0].text and "2026-03-05" in reminders[1].text


async def test_after_downtime_a_started_activity_is_announced_as_started(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start_sender=False) as h:  # Monday 09:00
        t1 = await h.register("T1")
        await add_activity(h, "G1", "group_study", "读书交流", "第一组", at(3, 2, 10, 30), 120)
        await add_activity(h, "G2", "group_study", "早会", "第一组", at(3, 2, 10, 5), 30)
        await h.tick()
        h.clock.set(at(3, 2, 10, 45))  # down from 09:00 to 10:45
        await restart(h)
        await h.tick()
        reminders = [e.text for e in t1.messages() if e.text.startswith("⏰")]
        # G2 (10:05-10:35, reminder due 09:05) is over: dropped. G1 started at 10:30: its
        # 60-minute reminder (due 09:30) says "started, please come and check in".
        assert len(reminders) == 1 and reminders[0].startswith("⏰ 活动已于 10:30 开始")
        assert "读书交流" in reminders[0]
        await h.tick(minutes=30)
        assert sum(e.text.startswith("⏰") for e in t1.messages()) == 1


async def test_digest_charts_are_deleted_once_sent_never_before(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start_sender=False) as h:  # Monday 09:00
        hr = await h.register("H1")
        await h.tick()  # baseline: Monday's 08:30 digest was before the bot existed
        await add_activity(h, "G1", "group_study", "读书交流", "第一组", at(3, 2, 10), 60)
        folder = h.config.files_dir / "digests"
        chart = folder / "hr-all-2026-03-03-zh.png"
        # Telegram answers the chart's photo with 429: the row waits a minute to be retried.
        h.sandbox.fail_next("sendPhoto", status=429, retry_after=60, chat_id=hr.chat_id)
        await h.tick(hours=23, minutes=30)  # Tuesday 08:30: the digest, its chart refused
        assert [e.media_type for e in hr.messages() if e.media_type == "photo"] == []
        assert chart.is_file()
        # Leftovers: a chart whose run never committed and was superseded (deleted); one of a
        # run in progress, later than the latest run (kept); a file that is not a chart (kept).
        folder.joinpath("hr-all-2026-02-27-zh.png").write_bytes(b"x")
        folder.joinpath("hr-all-2026-03-04-zh.png").write_bytes(b"x")
        folder.joinpath("notes.txt").write_text("x")
        done = await h.tick(seconds=30)  # the retry is not due yet
        assert done["digest.charts"] == 1
        assert chart.is_file() and not folder.joinpath("hr-all-2026-02-27-zh.png").exists()
        await restart(h)
        await h.tick(seconds=10)
        assert chart.is_file()  # still pending after the restart
        await h.tick(seconds=30)  # the retry is due: the checks run, then the photo is sent
        photos = [e for e in hr.messages() if e.media_type == "photo"]
        assert len(photos) == 1
        await h.tick(seconds=20)
        assert not chart.exists()
        assert sorted(p.name for p in folder.iterdir()) == ["hr-all-2026-03-04-zh.png",
                                                            "notes.txt"]
        await h.tick(minutes=30)
        assert len([e for e in hr.messages() if e.media_type == "photo"]) == 1
