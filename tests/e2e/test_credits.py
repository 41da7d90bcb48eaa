"""Credits end to end: /credits and /ranking by role (charts as photos), /adjust, /heatmap,
exit proposals confirmed and dismissed (a forged confirm refused), withdrawn after a corrected
import, rule 1 at the year's end, and imports that are all or nothing."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.core import pending
from bot.credits.importer import import_file
from bot.documents import charts
from bot.sandbox.client import SandboxUser
from bot.sandbox.model import Entry
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage.db import ts
from tests.helpers import T0, TZ, Harness, member, running_bot, said, text_of

EXIT_BUTTONS = [text_of("credits.exit.btn_confirm"), text_of("credits.exit.btn_dismiss")]

async def seed_activity(h: Harness, statuses: dict[str, str], *, days_ago: int = 3,
                        host: str | None = None, group: int = 1) -> int:
    """A past group activity of the first group with its roll call closed."""
    start = T0 - dt.timedelta(days=days_ago)
    pks = {m: (await member(h, m)).pk for m in [*statuses, *([host] if host else [])]}
    async with h.services.db.tx() as conn:
        pk = await activities_repo.insert(
            conn, activity_id=f"A{days_ago}{group}", type="group_study", title="读书交流会",
            group_id=group, start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)),
            location="", lat=None, lon=None, radius_m=None,
            host_pk=pks[host] if host else None, secret="s", source="import",
            created_by=None, now=ts(T0), closed_at=ts(start + dt.timedelta(hours=2)),
        )
        for m, status in statuses.items():
            await attendance_repo.check_in(conn, pk, pks[m], status, ts(start), "code")
    return pk


def png_size(entry: Entry) -> tuple[int, int]:
    assert entry.media_type == "photo" and entry.file_bytes is not None
    with Image.open(io.BytesIO(entry.file_bytes)) as img:
        assert img.format == "PNG"
        return img.size


async def test_credits_for_a_trainee_with_details(h: Harness) -> None:
    t1 = await h.register("T1")
    await seed_activity(h, {"T1": "present", "T2": "late", "L1": "absent"}, host="T1")
    reply = await t1.ask("/credits")
    assert png_size(reply) == charts.progress_size()
    # present 2 + hosting 2 = 4; line: 0.6 x mean(4, 1, 0, -2, 0) = 0.36; group median of 4,1,-2.
    assert said(reply.text, "credits.summary", year=2026, total=4, rank=1, count=5)
    assert said(reply.text, "credits.summary", line="0.36", median=1)
    assert not said(reply.text, "credits.summary_below")
    await t1.press(reply, "📒 学分明细")
    detail = await t1.next_message()
    assert said(detail.text, "credits.detail_header", total=4)
    assert said(detail.text, "credits.rule.host")
    assert said(detail.text, "credits.detail_rule_line",
                rule=text_of("credits.rule.attendance.present"), points=2)


async def test_a_trainee_below_the_line_is_told_what_is_needed(h: Harness) -> None:
    l1 = await h.register("L1")
    await seed_activity(h, {"T1": "present", "T2": "present", "L1": "absent"})
    reply = await l1.ask("/credits")
    # Totals 2, 2, -2, 0, 0: line 0.6 x 0.4 = 0.24; L1 needs 2.24 and more as the line moves.
    assert said(reply.text, "credits.summary", rank=5, count=5)
    assert said(reply.text, "credits.summary_below")


async def test_hr_has_no_credits(h: Harness) -> None:
    hr = await h.register("H1")
    assert said((await hr.ask("/credits")).text, "credits.hr_no_credits")


async def test_ranking_by_role(h: Harness) -> None:
    t1 = await h.register("T1")
    l1 = await h.register("L1")
    hr = await h.register("H1")
    await h.register("T2")  # issue 16: a member who never registered is not shown at risk
    await seed_activity(h, {"T1": "present", "T2": "absent", "L1": "late"})
    refused = await t1.ask("/ranking")
    assert refused.media_type is None and said(refused.text, "credits.ranking_refused")
    # The leader sees the group (3 bars) and who is below the line.
    group = await l1.ask("/ranking")
    assert png_size(group) == charts.ranking_size(3)
    assert said(group.text, "credits.ranking_caption", scope="第一组", year=2026, count=3, below=1)
    at_risk = await l1.next_message()
    assert said(at_risk.text, "credits.at_risk_line", name="邹立新", group="第一组", total=-2)
    assert "王芳" not in at_risk.text
    # HR sees everyone, or one group by name.
    everyone = await hr.ask("/ranking")
    assert png_size(everyone) == charts.ranking_size(5)
    assert said(
        everyone.text,
        "credits.ranking_caption",
        scope=text_of("credits.everyone"),
        year=2026,
        count=5,
    )
    await hr.next_message()
    second = await hr.ask("/ranking 第二组")
    assert said(second.text, "credits.ranking_caption", scope="第二组", year=2026, count=2)
    await hr.next_message()
    assert said(
        (await hr.ask("/ranking 第九组")).text, "credits.ranking_unknown_group", group="第九组"
    )


async def test_adjust_by_hr_is_in_the_ledger_and_told(h: Harness) -> None:
    hr = await h.register("H1")
    t1 = await h.register("T1")
    done = await hr.ask("/adjust T1 +3 学习心得被评为优秀")
    assert said(done.text, "credits.adjust.done", name="黄志强", points="+3", total=3)
    await h.flush()
    told = await t1.next_message(predicate=lambda e: said(e.text, "credits.adjust.told"))
    assert said(told.text, "credits.adjust.told", points="+3", reason="学习心得被评为优秀")
    t1_pk, h1_pk = (await member(h, "T1")).pk, (await member(h, "H1")).pk
    async with h.services.db.read() as conn:
        rows = await ledger.member_entries(conn, t1_pk, 2026)
    assert [(r.points, r.rule, r.source, r.note, r.actor_pk) for r in rows] == [
        (3, "adjust", "adjust:1", "学习心得被评为优秀", h1_pk)
    ]
    # A second one gets the next number; the sync leaves both alone.
    await hr.ask("/adjust T1 -1 迟到未请假")
    await h.tick()
    async with h.services.db.read() as conn:
        assert await ledger.totals_of(conn, t1_pk, 2026) == 2
    for text, expected in (
        ("/adjust T1", "用法"), ("/adjust T1 0 无", "不等于 0"), ("/adjust T1 abc 无", "不等于 0"),
        ("/adjust X9 1 无", "没有编号为 X9"), ("/adjust H1 1 无", "不计学分"),
    ):
        assert expected in (await hr.ask(text)).text, text
    assert said((await t1.ask("/adjust T2 5 帮忙")).text, "credits.adjust.hr_only")


async def test_heatmap_for_hr(h: Harness) -> None:
    hr = await h.register("H1")
    t1 = await h.register("T1")
    await seed_activity(h, {"T1": "present", "T2": "late", "L1": "excused"}, days_ago=5)
    await seed_activity(h, {"T1": "early_leave", "T2": "absent"}, days_ago=2)
    assert said((await t1.ask("/heatmap")).text, "credits.heatmap.hr_only")
    menu = await hr.ask("/heatmap")
    await hr.press(menu, "第一组")
    photo = await hr.next_message()
    assert png_size(photo) == charts.heatmap_size(3, 2)
    assert said(photo.text, "credits.heatmap.caption", scope="第一组", year=2026, count=2)
    direct = await hr.ask("/heatmap 第二组")
    assert said(direct.text, "credits.heatmap.empty", scope="第二组")


async def import_rows(h: Harness, tmp: Path, kind: str, text: str) -> int:
    path = tmp / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return await import_file(path, kind, h.config)


async def proposals(h: Harness, state: str = "open") -> list[exits_repo.Proposal]:
    async with h.services.db.read() as conn:
        return await exits_repo.proposals(conn, (state,))


async def hr_notice(h: Harness, hr: SandboxUser, needle: str) -> Entry:
    await h.flush()
    return await hr.next_message(predicate=lambda e: "退出建议" in e.text and needle in e.text)


async def test_exit_confirmed_forged_press_refused(h: Harness, tmp_path: Path) -> None:
    hr = await h.register("H1")
    l1 = await h.register("L1")
    t1 = await h.register("T1")
    await h.flush()
    assert await import_rows(h, tmp_path, "exams",
                             "member_id,semester,score\nT1,2025S1,52\nT1,2025S2,48\n"
                             "T2,2025S1,90\n") == 0
    await h.tick()
    notice = await hr_notice(h, hr, "黄志强")
    assert said(notice.text, "credits.exit.rule.exams")
    assert said(notice.text, "credits.exit.evidence.exams", items="2025S1 52 分；2025S2 48 分")
    assert notice.button_texts == EXIT_BUTTONS
    [p] = await proposals(h)
    # A trainee forging the confirm (on a message of their own) is refused; nothing changes.
    mine = await t1.ask("/credits")
    answer = await t1.press_data(mine, f"exit:do:{p.id}")
    assert answer.show_alert and said(answer.text, "error.forged")
    assert (await member(h, "T1")).active and [x.id for x in await proposals(h)] == [p.id]
    # A leader forging it too.
    answer = await l1.press_data(await l1.ask("/ranking"), f"exit:dis:{p.id}")
    assert answer.show_alert
    # HR confirms (asked once more first).
    await hr.press(notice, "✅ 确认退出")
    ask = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == notice.message_id and said(
            e.text, "credits.exit.ask"
        ),
        after=notice.message_id - 1)
    assert (await member(h, "T1")).active  # nothing before the second tap
    answer = await hr.press(ask, "确认，黄志强退出")
    assert said(answer.text, "credits.exit.answer_confirmed")
    assert not (await member(h, "T1")).active
    decided = (await exits_repo_proposal(h, p.id))
    assert decided.state == "confirmed" and decided.decided_by == (await member(h, "H1")).pk
    await h.flush()
    assert said(t1.last().text, "credits.exit.told_member")
    assert said(l1.last().text, "credits.exit.told_leader", name="黄志强")
    assert said(hr.messages()[-1].text, "credits.exit.outcome_confirmed", by="周敏") or any(
        said(m.text, "credits.exit.outcome_confirmed", by="周敏") for m in hr.messages())
    # The history stays; the member is gone from the ranking and told they are inactive.
    async with h.services.db.read() as conn:
        assert [r for r in await exits_repo.exam_results(conn) if r[0] == decided.member_pk]
    assert said((await t1.ask("/credits")).text, "register.inactive")
    # A second press of the same confirm changes nothing.
    again = await hr.press_data(ask, f"exit:do:{p.id}")
    assert again.show_alert and said(again.text, "credits.exit.already_confirmed")
    # No new proposal on the next ticks.
    await h.tick(minutes=30)
    assert await proposals(h) == []


async def exits_repo_proposal(h: Harness, pid: int) -> exits_repo.Proposal:
    async with h.services.db.read() as conn:
        found = await exits_repo.proposal(conn, pid)
    assert found is not None
    return found


async def test_exit_dismissed_and_not_proposed_again(h: Harness, tmp_path: Path) -> None:
    hr = await h.register("H1")
    await h.register("T2")
    assert await import_rows(h, tmp_path, "satisfaction",
                             "member_id,year,percent\nT2,2025,75%\nT1,2025,80\n") == 0
    await h.tick()
    notice = await hr_notice(h, hr, "邹立新")
    assert said(notice.text, "credits.exit.evidence.satisfaction", year=2025, share=75, min=80)
    async with h.services.db.read() as conn:
        waiting = await pending.gather(conn, "zh")
    assert text_of("credits.exit.pending_line", name="邹立新",
                   rule=text_of("credits.exit.rule.satisfaction")) in waiting
    listing = await hr.ask("/exits")
    assert said(listing.text, "credits.exit.header", count=1)
    card = await hr.next_message()
    assert card.button_texts == EXIT_BUTTONS
    answer = await hr.press(card, "✖️ 不予退出")
    assert said(answer.text, "credits.exit.answer_dismissed")
    [p] = await proposals(h, "dismissed")
    assert p.decided_by == (await member(h, "H1")).pk
    assert (await member(h, "T2")).active
    await h.tick(minutes=30)
    assert await proposals(h) == []
    assert said((await hr.ask("/exits")).text, "credits.exit.none")
    # The HR notice sent earlier lost its buttons.
    edited = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == notice.message_id and said(
            e.text, "credits.exit.outcome_dismissed", by="周敏"
        ),
        after=notice.message_id - 1)
    assert edited.buttons == []


async def test_supervision_twice_in_a_row_and_withdrawn_after_correction(
    h: Harness, tmp_path: Path
) -> None:
    hr = await h.register("H1")
    rows = ("member_id,period,rank,total\nT1,2025H2,8,9\nT2,2025H2,1,9\n"
            "T1,2026H1,{rank},9\nT2,2026H1,2,9\n")
    assert await import_rows(h, tmp_path, "supervision", rows.format(rank=9)) == 0
    await h.tick()
    notice = await hr_notice(h, hr, "黄志强")
    assert "2025H2 第 8/9 名；2026H1 第 9/9 名" in notice.text
    # HR corrects the import: T1 was 5th in 2026H1, so the rule no longer holds.
    assert await import_rows(h, tmp_path, "supervision", rows.format(rank=5)) == 0
    await h.tick()
    assert await proposals(h) == []
    assert len(await proposals(h, "withdrawn")) == 1
    withdrawn = await h.sandbox.wait_for_bot_message(
        hr.chat_id, lambda e: e.message_id == notice.message_id and said(
            e.text, "credits.exit.withdrawn"
        ),
        after=notice.message_id - 1)
    assert withdrawn.buttons == []
    # A stale press of the old button (from a client that missed the edit) changes nothing.
    answer = await hr.press(withdrawn, "✅ 确认退出")
    assert answer.show_alert and said(answer.text, "credits.exit.already_withdrawn")


async def test_rule_one_at_the_year_end(h: Harness) -> None:
    hr = await h.register("H1")
    await h.tick()  # 2025 had nothing: closed quietly
    await seed_activity(h, {"T1": "present", "T2": "absent", "L1": "present", "T3": "present",
                            "L2": "present"})
    await h.tick()
    async with h.services.db.read() as conn:
        assert not await exits_repo.year_closed(conn, 2026)
    assert await proposals(h) == []
    h.clock.set(dt.datetime(2027, 1, 1, 0, 1, tzinfo=TZ))
    await h.tick()
    [p] = await proposals(h)
    assert (p.rule, p.period) == ("credits", "2026")
    notice = await hr_notice(h, hr, "邹立新")
    assert said(
        notice.text, "credits.exit.evidence.credits", year=2026, total=-2, line="0.72"
    )  # 0.6 x 8 / 5
    # Decided `[exit] decide_after_days` (15) after the year ended, not at once (issue 16).
    async with h.services.db.read() as conn:
        assert not await exits_repo.year_closed(conn, 2026)
    await h.tick(minutes=30)
    assert len(await proposals(h)) == 1
    h.clock.set(dt.datetime(2027, 1, 16, 0, 1, tzinfo=TZ))
    await h.tick()
    async with h.services.db.read() as conn:
        assert await exits_repo.year_closed(conn, 2026)
    assert len(await proposals(h)) == 1


@pytest.mark.parametrize(
    ("kind", "text", "problems"),
    [
        ("exams", "member_id,semester,score\nT1,2025S1,52\nX9,2025S1,60\nT2,,abc\n"
                  "T1,2025S1,70\nH1,2025S1,80\n",
         ["第 3 行：没有编号为 X9 的成员", "第 4 行：semester 为空", "第 4 行：成绩应为",
          "第 5 行：T1 2025S1 与第 2 行重复", "第 6 行：H1 是人事部门成员"]),
        ("satisfaction", "member_id,year,percent\nT1,2025,0.85\nT2,25,85\nT3,2025,120\n",
         ["第 2 行：「0.85」像是小数", "第 3 行：年份应为四位数字", "第 4 行：满意度应为"]),
        ("supervision", "member_id,period,rank,total\nT1,2026H1,10,9\nT2,2026H1,0,9\n"
                        "T3,2026H1,x,9\nL1,2026H1,3,9\n",
         ["第 2 行：名次和总数", "第 3 行：名次和总数", "第 4 行：名次和总数"]),
    ],
)
async def test_imports_are_all_or_nothing(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, text: str,
    problems: list[str],
) -> None:
    assert await import_rows(h, tmp_path, kind, text) == 2
    err = capsys.readouterr().err
    assert said(err, "credits.import.rejected")
    for problem in problems:
        assert problem in err, (problem, err)
    async with h.services.db.read() as conn:
        assert await exits_repo.exam_results(conn) == []
        assert await exits_repo.satisfaction_votes(conn) == []
        assert await exits_repo.supervision_ranks(conn) == []
    # A missing column is refused before any row is read.
    assert await import_rows(h, tmp_path, kind, "member_id\nT1\n") == 2
    # The same file twice: the second import changes nothing.
    good = {
        "exams": "member_id,semester,score\nT1,2025S1,52\n",
        "satisfaction": "member_id,year,percent\nT1,2025,85\n",
        "supervision": "member_id,period,rank,total\nT1,2026H1,3,9\n",
    }[kind]
    assert await import_rows(h, tmp_path, kind, good) == 0
    assert "新增 1" in capsys.readouterr().out
    assert await import_rows(h, tmp_path, kind, good) == 0
    assert "新增 0，更新 0，未变 1" in capsys.readouterr().out


async def test_cli_adjust_and_the_credits_export(
    h: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from bot.credits.importer import cli_adjust
    from bot.documents.exports import ExportFilter, collect

    t1 = await h.register("T1")
    await seed_activity(h, {"T1": "present", "T2": "absent"})
    args = argparse.Namespace(member="T1", points="+2.5", reason="优秀案例分析")
    assert await cli_adjust(args, h.config) == 0
    assert said(
        capsys.readouterr().out,
        "credits.import.adjusted",
        name="黄志强",
        member_id="T1",
        points="+2.5",
        reason="优秀案例分析",
    )
    for bad in (argparse.Namespace(member="T1", points="0", reason="x"),
                argparse.Namespace(member="T1", points="2", reason=" "),
                argparse.Namespace(member="X9", points="2", reason="x"),
                argparse.Namespace(member="H1", points="2", reason="x")):
        assert await cli_adjust(bad, h.config) == 2
    assert "没有编号为 X9" in capsys.readouterr().err
    # The command line runs on the system clock: bring the bot's clock up to it to deliver.
    h.clock.set(max(h.clock.now(), dt.datetime.now(TZ)) + dt.timedelta(minutes=1))
    await h.flush()
    told = await t1.next_message(predicate=lambda e: said(e.text, "credits.adjust.told"))
    assert said(told.text, "credits.adjust.told", points="+2.5", reason="优秀案例分析")
    [sheet] = await collect(h.services.db, h.config, ["credits"], ExportFilter())
    rows = {(r["member_id"], r["rule"], r["points"], r["by"]) for r in sheet.rows}
    assert rows == {("T1", "attendance.present", 2.0, ""), ("T2", "attendance.absent", -2.0, ""),
                    ("T1", "adjust", 2.5, "")}
    assert sheet.rows[0]["date"] == dt.date(2026, 2, 27)
    only_second = await collect(h.services.db, h.config, ["credits"], ExportFilter(group_id=2))
    assert only_second[0].rows == []


async def test_demo_scenes_run_on_their_own_and_keep_the_charts(tmp_path: Path) -> None:
    import csv

    from bot.demo.play import Demo, demo_roster
    from bot.demo.scenes import credits as scene

    roster = demo_roster()
    names = {r["member_id"]: r["name"] for r in csv.DictReader(io.StringIO(roster))}
    async with running_bot(tmp_path, roster=roster) as h:
        demo = Demo(h.sandbox, h.app, h.config, h.clock, h.codes, names)
        for play in scene.SCENES:
            await play(demo)
        kept = sorted(p.name for p in (h.config.base_dir / scene.CHART_DIR).iterdir())
        assert kept == ["credits-M002.png", "heatmap-第一组.png", "ranking-全体.png",
                        "ranking-第一组.png"]
        assert not (await member(h, scene.EXITING)).active
        assert (await member(h, scene.DISMISSED)).active
