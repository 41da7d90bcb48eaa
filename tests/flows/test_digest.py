"""Digest content against a seeded database: every section, both languages, the plug-in
registry (a later feature's section, a failing one, a missing table), splitting under 4096
characters at section and line boundaries, and the chart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot import features
from bot.core import pending
from bot.core.config import Config
from bot.core.text import MAX_MESSAGE
from bot.reminders import digest
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage import reading as reading_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOW = dt.datetime(2026, 10, 8, 8, 30, tzinfo=TZ)  # the first working day after National Day
SINCE = dt.datetime(2026, 9, 30, 8, 30, tzinfo=TZ)


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Database, Config]]:
    """SMALL_ROSTER (T2 never registered, T3 blocked the bot), three activities in the
    holiday (one cancelled, one outside the period), roll calls, reading submissions. The
    features' digest sections are registered, as the app does at start."""
    features.install()
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, SINCE - dt.timedelta(days=30))
    db = await open_database(cfg.db_path)
    now_s = ts(SINCE)
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        # Registered before the year began, so reading pace counts from 1 January.
        registered = ts(dt.datetime(2025, 12, 1, 9, 0, tzinfo=TZ))
        for i, member_id in enumerate(("L1", "T1", "L2", "T3", "H1"), start=1):
            await members_repo.link_telegram(conn, pks[member_id], 9000 + i, "zh", registered)
        await members_repo.mark_unreachable(conn, 9004, "Forbidden: bot was blocked", now_s)
        groups = await activities_repo.group_ids_by_name(conn)

        async def activity(aid: str, title: str, group: str | None, start: dt.datetime,
                           type_: str = "group_study") -> int:
            return await activities_repo.insert(
                conn, activity_id=aid, type=type_, title=title,
                group_id=groups[group] if group else None, start_at=ts(start),
                end_at=ts(start + dt.timedelta(hours=2)), location="", lat=None, lon=None,
                radius_m=None, host_pk=None, secret="s", source="import", created_by=None,
                now=now_s,
            )

        g1 = await activity("G1", "国庆读书会", "第一组", dt.datetime(2026, 10, 3, 9, tzinfo=TZ))
        c1 = await activity("C1", "集中培训", None, dt.datetime(2026, 10, 6, 14, tzinfo=TZ),
                            "collective")
        await activity("G2", "未来的活动", "第二组", dt.datetime(2026, 10, 9, 9, tzinfo=TZ))
        old = await activity("G0", "上次的活动", "第一组", dt.datetime(2026, 9, 29, 9, tzinfo=TZ))
        cancelled = await activity("G3", "取消的活动", "第二组",
                                   dt.datetime(2026, 10, 4, 9, tzinfo=TZ))
        await activities_repo.cancel(conn, cancelled, now_s)
        at = ts(dt.datetime(2026, 10, 3, 9, tzinfo=TZ))
        await attendance_repo.check_in(conn, g1, pks["L1"], "present", at, "code")
        await attendance_repo.check_in(conn, g1, pks["T1"], "late", at, "code")
        await attendance_repo.close(conn, g1, {pks["T2"]: "absent"}, at)
        await attendance_repo.check_in(conn, c1, pks["L1"], "present", at, "code")
        await attendance_repo.check_out(conn, c1, pks["L1"], at, early=True)
        await attendance_repo.check_in(conn, c1, pks["L2"], "present", at, "code")
        await attendance_repo.close(
            conn, c1, {pks["T1"]: "absent", pks["T2"]: "excused", pks["T3"]: "absent"}, at
        )
        await attendance_repo.close(conn, old, {pks["T1"]: "absent"}, at)
        for member_id, title, when in (
            ("T1", "给教师的建议", dt.datetime(2026, 10, 2, 10, tzinfo=TZ)),
            ("L2", "学校管理新论", dt.datetime(2026, 10, 7, 22, tzinfo=TZ)),
            ("T3", "更早的书", dt.datetime(2026, 9, 29, 10, tzinfo=TZ)),
        ):
            await reading_repo.insert(
                conn, member_pk=pks[member_id], year=2026, kind="book", title=title,
                title_norm=title, now=ts(when), body="心得" * 200,
            )
    try:
        yield db, cfg
    finally:
        await db.close()


def hr_scope(cfg: Config, lang: str = "zh", start: dt.datetime = SINCE,
             end: dt.datetime = NOW) -> digest.Scope:
    return digest.Scope("hr", cfg, lang, start.astimezone(dt.UTC), end.astimezone(dt.UTC),
                        end.date())


async def test_hr_digest_sections(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    async with db.read() as conn:
        composed = await digest.compose(conn, hr_scope(cfg))
    text = composed.text
    assert composed.blocks[0] == (
        "📋 人事日报 · 2026-10-08（周四）\n统计区间：09-30 08:30 至 10-08 08:30"
    )
    # Held in the period, in order; cancelled, earlier and later activities are not.
    assert text.index("国庆读书会") < text.index("集中培训")
    for absent in ("未来的活动", "上次的活动", "取消的活动"):
        assert absent not in text
    assert "· 国庆读书会（第一组，10-03 09:00）：出勤 1，迟到 1，早退 0，缺勤 1，请假 0" in text
    assert "  缺勤：邹立新\n  迟到：黄志强" in text
    assert "· 集中培训（全体学员，10-06 14:00）：出勤 1，迟到 0，早退 1，缺勤 2，请假 1" in text
    assert "  缺勤：黄志强、王芳\n  早退：罗宏伟" in text
    # Reading: the two submitted in the period.
    assert ("新提交 2 项：\n· 黄志强：读书心得《给教师的建议》\n"
            "· 陈静：读书心得《学校管理新论》") in text
    assert "更早的书" not in text
    # Who the bot cannot reach.
    assert "· 邹立新（T2，第一组）：尚未注册" in text
    assert "· 王芳（T3，第二组）：已屏蔽机器人" in text
    headings = [b.splitlines()[0] for b in composed.blocks[1:]]
    assert headings == ["【活动与考勤】", "【读书与学习成果】", "【无法联系的成员】"]
    assert [label for label, _ in composed.chart] == ["10-03 09:00", "10-06 14:00"]
    assert composed.chart[1][1] == Counter(
        {"absent": 2, "early_leave": 1, "present": 1, "excused": 1})


async def test_notifications_telegram_refused_are_listed_for_hr(
    seeded: tuple[Database, Config],
) -> None:
    db, cfg = seeded
    inside, outside = ts(NOW - dt.timedelta(hours=3)), ts(SINCE - dt.timedelta(hours=1))
    async with db.tx() as conn:
        t1 = await members_repo.by_member_id(conn, "T1")
        assert t1 is not None
        for chat_id, member_pk, text, when in (
            (9002, t1.pk, "您的请假申请 #3 已获批准\n" + "说明" * 40, inside),
            (-100123, None, "新成员已注册：王五", inside),
            (9002, t1.pk, "上个周期的通知", outside),
        ):
            await conn.execute(
                "INSERT INTO outbox (chat_id, member_pk, kind, payload, status, not_before,"
                " created_at, last_error) VALUES (?, ?, 'k', ?, 'failed', ?, ?,"
                " 'Bad Request: chat not found')",
                (chat_id, member_pk, json.dumps({"text": text}), when, when),
            )
        await conn.execute(
            "INSERT INTO outbox (chat_id, member_pk, kind, payload, status, not_before,"
            " created_at) VALUES (9002, ?, 'k', '{\"text\": \"已送达\"}', 'sent', ?, ?)",
            (t1.pk, inside, inside),
        )
    async with db.read() as conn:
        zh = (await digest.compose(conn, hr_scope(cfg))).text
        en = (await digest.compose(conn, hr_scope(cfg, "en"))).text
    section = zh[zh.index("未能送达的通知"):]
    lines = [line for line in section.splitlines() if line.startswith("· ")]
    assert lines == [
        "· 黄志强（T1）：“您的请假申请 #3 已获批准 " + "说明" * 12 + "…”"
        "（Bad Request: chat not found）",
        "· 聊天 -100123：“新成员已注册：王五”（Bad Request: chat not found）",
    ]
    assert "上个周期的通知" not in zh and "已送达" not in zh
    assert "Notifications Telegram refused" in en and "· 黄志强 (T1): “" in en


async def test_english(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    async with db.read() as conn:
        text = (await digest.compose(conn, hr_scope(cfg, "en"))).text
    assert text.startswith("📋 HR daily digest · 2026-10-08 (Thu)\nPeriod: 09-30 08:30 to")
    assert "present 1, late 0, left early 1, absent 2, excused 1" in text
    assert "blocked the bot" in text


async def test_nothing_new(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    start = NOW + dt.timedelta(days=30)
    async with db.tx() as conn:
        await conn.execute("UPDATE members SET unreachable_at = NULL, telegram_id = 9999"
                           " WHERE member_id = 'T2'")
        await conn.execute("UPDATE members SET unreachable_at = NULL WHERE member_id = 'T3'")
    async with db.read() as conn:
        composed = await digest.compose(conn, hr_scope(cfg, start=start,
                                                       end=start + dt.timedelta(days=1)))
    assert composed.blocks[1:] == ["这段时间没有新的情况。"]
    assert composed.chart == []


async def test_leader_and_trainee_weekly(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    async with db.read() as conn:
        pks = {m.member_id: m for m in await members_repo.all_members(conn)}
        l1 = pks["L1"]
        leader = digest.Scope("leader", cfg, "zh", SINCE.astimezone(dt.UTC),
                              NOW.astimezone(dt.UTC), NOW.date(), l1.group_id, "第一组", l1)
        text = (await digest.compose(conn, leader)).text
        t1 = pks["T1"]
        mine = digest.Scope("trainee", cfg, "zh", SINCE.astimezone(dt.UTC),
                            NOW.astimezone(dt.UTC), NOW.date(), t1.group_id, "第一组", t1)
        own = (await digest.compose(conn, mine)).text
    assert text.startswith("📋 第一组周报 · 2026-10-08（周四）")
    # The collective training counts only the group's members; group 2's member is not named.
    assert "· 集中培训（全体学员，10-06 14:00）：出勤 0，迟到 0，早退 1，缺勤 1，请假 1" in text
    assert "王芳" not in text and "陈静" not in text
    # Pace on 8 October: 6 x 280/365 -> 4 books expected.
    assert "· 黄志强：读书 1/6 本，其中教育专著 0/2 本，落后 3 本" in text
    assert "· 邹立新：读书 0/6 本，其中教育专著 0/2 本，落后 4 本" in text
    assert "尚未注册" not in text  # HR's section only
    assert own.startswith("📋 黄志强的学习周报")
    assert "【我的考勤】\n· 国庆读书会（10-03 09:00）：迟到\n· 集中培训（10-06 14:00）：缺勤" in own
    assert "· 黄志强：读书 1/6 本" in own and "邹立新" not in own


async def test_a_later_feature_plugs_in_its_section(
    seeded: tuple[Database, Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, cfg = seeded
    monkeypatch.setattr(digest, "_SECTIONS", dict(digest._SECTIONS))
    monkeypatch.setattr(pending, "_PROVIDERS", {})

    async def waiting(conn: aiosqlite.Connection, lang: str) -> list[str]:
        return ["#7 黄志强：集中培训"]

    async def leave(conn: aiosqlite.Connection, scope: digest.Scope) -> list[str]:
        return []  # a section with nothing to say is left out, heading and all

    async def credits(conn: aiosqlite.Connection, scope: digest.Scope) -> list[str]:
        return [f"· {scope.today:%m-%d} 学分风险：无"]

    async def broken(conn: aiosqlite.Connection, scope: digest.Scope) -> list[str]:
        raise RuntimeError("bug in a section")

    pending.register("leave", waiting)
    digest.register("leave", leave, order=20, kinds=("hr",), title_key="digest.section.pending")
    digest.register("credits", credits, order=50, kinds=("hr",), title_key="digest.section.pace")
    digest.register("broken", broken, order=60, kinds=("hr",), title_key="digest.section.pace")

    async with db.read() as conn:
        composed = await digest.compose(conn, hr_scope(cfg))
    text = composed.text
    assert "【待人事处理】\n· #7 黄志强：集中培训\n\n【读书与学习成果】" in text
    assert text.index("【读书与学习成果】") < text.index("· 10-08 学分风险：无") < text.index(
        "（这一部分未能生成，已记入日志。）") < text.index("【无法联系的成员】")


@pytest.mark.parametrize("limit", [MAX_MESSAGE, 500, 120])
def test_parts_split_at_section_and_line_boundaries(limit: int) -> None:
    blocks = ["📋 标题\n统计区间"] + [
        "\n".join([f"【第{s}部分】", *(f"· 第{s}部分的第{i}行，内容比较长" for i in range(n))])
        for s, n in enumerate((3, 400, 5, 60))
    ]
    out = digest.parts(digest.Composed(blocks), limit)
    assert len(out) > 1 and all(0 < len(p) <= limit for p in out)
    # Nothing lost, nothing cut: the lines of the parts are the lines of the digest.
    assert [line for p in out for line in p.split("\n") if line] == [
        line for b in blocks for line in b.split("\n")]
    # A section that fits in a message is never split across two.
    for b in blocks:
        if len(b) <= limit:
            assert any(b in p for p in out)


def test_a_short_digest_is_one_message() -> None:
    composed = digest.Composed(["📋 标题", "【一】\n· 一行", "【二】\n· 两行"])
    assert digest.parts(composed) == ["📋 标题\n\n【一】\n· 一行\n\n【二】\n· 两行"]


async def test_chart_is_a_png_with_chinese_labels(recwarn: pytest.WarningsRecorder) -> None:
    data = [("10-03 09:00", Counter({"present": 3, "late": 1})),
            ("10-06 14:00", Counter({"absent": 2, "excused": 1, "early_leave": 1}))]
    text = digest.ChartText.of("zh", "各活动考勤（09-30 08:30 至 10-08 08:30）")
    assert text.statuses["early_leave"] == "早退"
    png = await digest.render_chart_async(data, text)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (480, 360)
    assert not [w for w in recwarn if "missing from" in str(w.message)]
    many = [(f"10-{d:02d} 09:00", Counter({"present": 1})) for d in range(1, 31)]
    png = await digest.render_chart_async(many, digest.ChartText.of("en", "Attendance"))
    assert int.from_bytes(png[16:20], "big") == 960  # capped at 10 inches


async def test_reports_section(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    async with db.tx() as conn:
        t1 = await members_repo.by_member_id(conn, "T1")
        assert t1 is not None
        await conn.execute("UPDATE activities SET host_pk = ? WHERE activity_id IN"
                           " ('G0', 'G1', 'G2')", (t1.pk,))
        g0 = await activities_repo.by_activity_id(conn, "G0")
        assert g0 is not None
        filed = ts(dt.datetime(2026, 10, 2, 10, tzinfo=TZ))
        await conn.execute(
            "INSERT INTO reports (activity_pk, host_pk, state, submitted_at, late, created_at,"
            " updated_at) VALUES (?, ?, 'submitted', ?, 1, ?, ?)",
            (g0.pk, t1.pk, filed, filed, filed),
        )
    async with db.read() as conn:
        text = (await digest.compose(conn, hr_scope(cfg))).text
        before = (await digest.compose(conn, hr_scope(
            cfg, start=SINCE - dt.timedelta(days=2), end=SINCE))).text
    # G1 (3 October, a holiday) is due on the first working day after it, 8 October 18:00.
    assert ("【活动报告】\n今天截止、尚未提交 1 份：\n"
            "· 国庆读书会（第一组，10-03 09:00，主持人 黄志强，截止 10-08 18:00）\n"
            "本期提交 1 份：\n"
            "· 上次的活动（第一组，09-29 09:00，主持人 黄志强，截止 09-30 18:00） · 迟交") in text
    assert "未来的活动" not in text and "已逾期" not in text
    # On 30 September at 08:30 the report of 29 September was due that evening.
    assert "今天截止、尚未提交 1 份：\n· 上次的活动" in before


async def test_credits_sections(seeded: tuple[Database, Config]) -> None:
    db, cfg = seeded
    async with db.tx() as conn:
        pks = {m.member_id: m for m in await members_repo.all_members(conn)}
        await conn.executemany(
            "INSERT INTO credit_ledger (member_pk, on_date, points, rule, source, note,"
            " created_at, year) VALUES (?, '2026-10-01', ?, 'adjust', ?, '', ?, 2026)",
            [(pks[m].pk, p, f"adjust:{i}", ts(SINCE))
             for i, (m, p) in enumerate((("L1", 100), ("T1", 90), ("L2", 80), ("T3", 10)))],
        )
    async with db.read() as conn:
        text = (await digest.compose(conn, hr_scope(cfg))).text
        t3, l1 = pks["T3"], pks["L1"]
        mine = [(await digest.compose(conn, digest.Scope(
            "trainee", cfg, "zh", SINCE.astimezone(dt.UTC), NOW.astimezone(dt.UTC), NOW.date(),
            m.group_id, m.group_name, m))).text for m in (t3, l1)]
    # The line: 60% of the average of the top five (100, 90, 80, 10, 0) = 33.6.
    # T2 (邹立新, 0 points) never registered: listed as not registered, not at risk (issue 16).
    assert ("【学分预警】\n低于当前线（33.6 分）1 人，达到线还需：\n"
            "· 王芳（第二组）：10 分，还需") in text
    credits = text.split("【学分预警】")[1].split("【")[0]
    assert "邹立新" not in credits and "罗宏伟" not in credits
    assert "【我的学分】\n· 本年度学分 10 分，当前线 33.6 分，还需" in mine[0]
    assert "· 本年度学分 100 分，当前线 33.6 分，高出线 66.4 分" in mine[1]



def capped_cfg(cfg: Config, max_names: int) -> Config:
    return dataclasses.replace(cfg, digest=dataclasses.replace(cfg.digest, max_names=max_names))


@pytest.mark.parametrize(("items", "limit", "shown", "more"), [
    ([], 3, [], 0),
    ([1, 2], 3, [1, 2], 0),
    ([1, 2, 3], 3, [1, 2, 3], 0),
    ([1, 2, 3, 4], 3, [1, 2, 3], 1),
    ([1, 2], 0, [], 2),
])
def test_cut(items: list[int], limit: int, shown: list[int], more: int) -> None:
    assert digest.cut(items, limit) == (shown, more)


@pytest.mark.parametrize(("name", "parsed"), [
    ("hr-all-2026-03-03-zh.png", ("hr", "", "2026-03-03")),
    ("leader-12-2026-W10-en.png", ("leader", "12", "2026-W10")),
    ("hr-all-2026-03-03-zh.txt", None),
    ("credits-all-2026-03-03-zh.png", None),
    ("hr.png", None),
])
def test_chart_file_names(name: str, parsed: tuple[str, str, str] | None) -> None:
    assert digest.chart_of(name) == parsed
    if parsed is not None:
        kind, scope, period = parsed
        path = digest.chart_path(make_config(Path("/tmp")), kind, scope, period, name[-6:-4])
        assert path.name == name


async def test_long_lists_are_capped(seeded: tuple[Database, Config]) -> None:
    """With `[digest] max_names` below a list's length: the first names, "… and K more", the
    counts per group and where the full list is; lists within the cap are shown whole."""
    db, cfg = seeded
    async with db.read() as conn:
        two = (await digest.compose(conn, hr_scope(capped_cfg(cfg, 2)))).text
        one = (await digest.compose(conn, hr_scope(capped_cfg(cfg, 1)))).text
        en = (await digest.compose(conn, hr_scope(capped_cfg(cfg, 1), "en"))).text
    # Two names per status in the section: 邹立新 (G1) and 黄志强 (C1) of the three absent.
    assert "  缺勤：邹立新\n  迟到：黄志强" in two
    assert "  缺勤：黄志强……另 1 人\n  早退：罗宏伟" in two
    assert "  未列出姓名：缺勤 1，迟到 0，早退 0\n  完整名单：/export（attendance 工作表）" in two
    assert "共 2 场活动" not in two
    assert "新提交 2 项：\n· 黄志强：读书心得《给教师的建议》\n· 陈静" in two  # not cut
    # One: a single activity listed after the totals of both, one name per list.
    assert ("【活动与考勤】\n共 2 场活动：出勤 2，迟到 1，早退 1，缺勤 3，请假 1\n"
            "· 国庆读书会（第一组，10-03 09:00）") in one
    assert "集中培训" not in one
    assert ("……另有 1 场活动（已计入上面的合计）\n  未列出姓名：缺勤 2，迟到 0，早退 1\n"
            "  完整名单：/export（attendance 工作表）") in one
    # The counts per group are a list too: one group, then how many more.
    assert ("新提交 2 项：\n按组统计（共 2）：第一组 1……另 1 个组\n"
            "· 黄志强：读书心得《给教师的建议》\n"
            "……另有 1 条，完整名单：/export（reading 工作表）") in one
    assert ("【无法联系的成员】\n按组统计（共 2）：第一组 1……另 1 个组\n"
            "· 邹立新（T2，第一组）：尚未注册\n"
            "……另有 1 条，完整名单：/export（roster 工作表，unreachable 列）") in one
    assert "… and 1 more; full list: /export (sheet “reading”)" in en
    assert "By group (2 in all): 第一组 1, … and 1 more group(s)" in en


async def test_leader_pace_of_a_big_group_lists_those_behind_first(
    seeded: tuple[Database, Config]
) -> None:
    db, cfg = seeded
    async with db.read() as conn:
        l1 = next(m for m in await members_repo.all_members(conn) if m.member_id == "L1")
        scope = digest.Scope("leader", capped_cfg(cfg, 1), "zh", SINCE.astimezone(dt.UTC),
                             NOW.astimezone(dt.UTC), NOW.date(), l1.group_id, "第一组", l1)
        text = (await digest.compose(conn, scope)).text
    block = text.split("【读书进度】\n")[1].split("\n\n")[0].splitlines()
    assert block[:2] == ["进度正常 0 人，落后 3 人。", "落后的成员（落后最多的在前）："]
    assert block[2].endswith("落后 4 本") and len(block) == 4
    assert block[3] == "……另有 2 条，完整名单：/reading"


def test_group_counts_most_first_in_natural_order(tmp_path: Path) -> None:
    scope = hr_scope(capped_cfg(make_config(tmp_path), 3))
    groups = ["第10组", "第2组", "第2组", "第1组", None, "第3组"]
    assert digest.group_counts(scope, groups) == "第2组 2，第1组 1，第3组 1……另 2 个组"
