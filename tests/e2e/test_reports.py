"""Activity reports end to end through the sandbox: filing with an album of photos and a
recommended work, the headcount warning, amending before the deadline, late filing, every
reminder and the escalation by the clock, hand-over of the hosting, forged buttons, the
overviews and the export."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.activities import roll_call
from bot.documents.exports import cli_export
from bot.reports.export import COLUMNS
from bot.sandbox.client import Entry, SandboxUser
from storage import members as members_repo
from tests.helpers import TZ, Harness, activity, import_schedule, running_bot, said, text_of

# 第一组 (L1, T1, T2): a Friday activity hosted by T1; its report is due Monday 9 March 18:00.
G1 = "G1,group_study,读书交流,第一组,2026-03-06 10:00,2026-03-06 12:00,会议室,,,T1"
# A later one, for the hand-over; and one of 第二组 (L2, T3) hosted by T3.
G2 = "G2,group_study,案例剖析,第一组,2026-03-20 10:00,2026-03-20 12:00,会议室,,,T1"
G3 = "G3,group_study,工作交流,第二组,2026-03-06 14:00,2026-03-06 16:00,会议室,,,T3"


def deadline_zh(month: int, day: int, weekday: int, time: str = "18:00") -> str:
    """A report deadline as the catalog renders it (weekday 0 is Monday)."""
    return text_of("reports.deadline", month=text_of(f"reports.month.{month}"), day=day,
                   weekday=text_of(f"reports.weekday.{weekday}"), time=time)


DEADLINE_ZH = deadline_zh(3, 9, 0)  # Monday 9 March 18:00
ABSENT, LATE = text_of("attendance.status.absent"), text_of("attendance.status.late")
ON_TIME = text_of("reports.text.on_time")
# The overview's sections.
ON_TIME_FILED = text_of("reports.overview.state.on_time")
LATE_FILED = text_of("reports.overview.state.late")
OVERDUE = text_of("reports.overview.state.overdue")
PHOTOS = [b"\xff\xd8\xff\xe0 photo %d " % i + bytes(range(40)) for i in range(3)]


def at(day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hh, mm, tzinfo=TZ)


async def member_pk(h: Harness, member_id: str) -> int:
    async with h.services.db.read() as conn:
        member = await members_repo.by_member_id(conn, member_id)
    assert member is not None
    return member.pk


async def report_row(h: Harness, activity_id: str = "G1") -> dict[str, object]:
    row = await h.services.db.fetchone(
        "SELECT r.* FROM reports r JOIN activities a ON a.id = r.activity_pk"
        " WHERE a.activity_id = ?", (activity_id,),
    )
    assert row is not None
    return dict(row)


async def roll_call_and_end(h: Harness) -> None:
    """T1 present, T2 late, L1 never comes; the activity ends and its roll call closes."""
    a = await activity(h)
    h.clock.set(at(6, 9, 55))
    ok = await roll_call.check_in(h.services.db, h.config, a.pk, await member_pk(h, "T1"),
                                  h.clock.now(), "code")
    assert ok.outcome == "ok"
    h.clock.set(at(6, 10, 10))
    ok = await roll_call.check_in(h.services.db, h.config, a.pk, await member_pk(h, "T2"),
                                  h.clock.now(), "code")
    assert ok.outcome == "ok" and ok.record is not None and ok.record.status == "late"
    h.clock.set(at(6, 12, 0))
    await h.tick()


def received(count: int) -> Callable[[Entry], bool]:
    """Whether a message is the photo step's status after `count` photos."""
    return lambda m: said(m.text, "reports.photos.received", count=count)


def hr_texts(hr: SandboxUser) -> list[str]:
    return [m.text for m in hr.messages() if m.media_type is None and "活动报告" in m.text]


async def after_press(user: SandboxUser, message: Entry, button: str) -> Entry:
    answer = await user.press(message, button)
    assert not answer.show_alert, answer.text
    return await user.next_message()


async def start_filing(h: Harness, host: SandboxUser) -> Entry:
    """/report, pick G1: returns the first question (what was studied)."""
    offer = await host.ask("/report")
    assert said(offer.text, "reports.list.pick")
    intro = await after_press(host, offer, offer.button_texts[0])
    assert said(intro.text, "reports.intro.draft", title="读书交流")
    return await host.next_message()


async def send_album(host: SandboxUser, photos: list[bytes], album: str) -> Entry:
    for data in photos:
        await host.send_photo(data, media_group_id=album)
    return await host.next_message(
        predicate=received(len(photos)))


async def file_report(
    h: Harness, host: SandboxUser, *, headcount: str = "2", recommend: bool = True,
    photos: list[bytes] = PHOTOS,
) -> Entry:
    """The whole filing; returns the preview."""
    question = await start_filing(h, host)
    assert said(question.text, "reports.ask.studied")
    assert said((await host.ask("共读《给教师的建议》第一至十条，分组交流。")).text,
                "reports.ask.highlights")
    asked = await host.ask("人人发言，结合本校实际提出三条改进措施。")
    assert said(asked.text, "reports.ask.photos")
    if len(photos) > 1:
        status = await send_album(host, photos, "album-1")
    else:
        await host.send_photo(photos[0])
        status = await host.next_message(predicate=received(1))
    recommend_q = await after_press(host, status, "照片已发完")
    assert said(recommend_q.text, "reports.ask.recommend")
    if recommend:
        who = await after_press(host, recommend_q, "⭐ 推荐成果")
        assert "邹立新" in who.button_texts
        title_q = await after_press(host, who, "邹立新")
        assert said(title_q.text, "reports.ask.rec_title")
        body_q = await host.ask("课堂管理的三点体会")
        assert said(body_q.text, "reports.ask.rec_body")
        await host.send_document(b"PK\x03\x04 docx bytes", "三点体会.docx",
                                 mime_type="application/vnd.openxmlformats-officedocument"
                                 ".wordprocessingml.document")
        count_q = await host.next_message()
    else:
        count_q = await after_press(host, recommend_q, "不推荐")
    assert said(count_q.text, "reports.ask.headcount", came=2)
    if headcount == "button":
        return await after_press(host, count_q, "2 人（与点名一致）")
    return await host.ask(headcount)


@pytest.fixture
async def h(h: Harness) -> Harness:
    """The shared bot (tests/conftest.py) with G1, G2 and G3 on the schedule."""
    await import_schedule(h, G1, G2, G3)
    return h


# -- filing ---------------------------------------------------------------------------------


async def test_whole_filing_with_an_album_and_a_headcount_mismatch(h: Harness) -> None:
    host = await h.register("T1")
    await h.register("T2")
    leader = await h.register("L1")
    hr = await h.register("H1")
    await h.flush()
    await roll_call_and_end(h)
    ended = host.last()
    assert said(ended.text, "reports.remind.ended", title="读书交流", deadline=DEADLINE_ZH)

    preview = await file_report(h, host, headcount="3")
    assert said(preview.text, "reports.preview.header", title="读书交流")
    assert "出勤 1 · 迟到 1 · 早退 0 · 缺勤 1 · 请假 0（到场 2 人）" in preview.text
    assert said(preview.text, "reports.text.names", status=ABSENT, names="罗宏伟")
    assert not said(preview.text, "reports.text.names", status=LATE, names="T2")
    assert said(preview.text, "reports.text.mismatch", stated=3, roll=2)
    assert said(preview.text, "reports.text.photos", count=3)
    assert said(preview.text, "reports.text.recommended", name="邹立新", title="课堂管理的三点体会")
    assert hr_texts(hr) == []  # nothing goes to HR before the host submits

    h.clock.set(at(9, 11, 0))
    done = await after_press(host, preview, "✅ 提交报告")
    assert said(done.text, "reports.submitted.ok", deadline=DEADLINE_ZH)
    assert said(done.text, "reports.submitted.mismatch", diff="+1")
    assert done.button_texts == [text_of("reports.submitted.amend_button")]
    await h.flush()

    texts = hr_texts(hr)
    assert len(texts) == 1
    report = texts[0]
    assert report.startswith(text_of("reports.hr.header", title="读书交流", host="黄志强"))
    assert said(report, "reports.text.mismatch", stated=3, roll=2, diff="+1")
    assert "共读《给教师的建议》" in report and "三条改进措施" in report
    assert said(report, "reports.text.submitted", at="2026-03-09 11:00", verdict=ON_TIME)
    album = [m for m in hr.messages() if m.kind == "media_group_item"]
    assert [m.file_bytes for m in album] == PHOTOS
    assert len({m.media_group_id for m in album}) == 1
    assert said(album[0].text, "reports.hr.album", title="读书交流", host="黄志强", count=3)
    document = [m for m in hr.messages() if m.media_type == "document"]
    assert len(document) == 1 and document[0].file_name == "三点体会.docx"
    assert said(document[0].text, "reports.hr.document", name="邹立新", title="课堂管理的三点体会")

    row = await report_row(h)
    assert row["state"] == "submitted" and row["late"] == 0 and row["stated_headcount"] == 3
    assert (row["rc_present"], row["rc_late"], row["rc_absent"]) == (1, 1, 1)
    assert row["recommended_member_pk"] == await member_pk(h, "T2")
    paths = await h.services.db.fetchall(
        "SELECT file_path FROM report_photos WHERE report_pk = ? ORDER BY position",
        (row["id"],),
    )
    stored = [(h.config.files_dir / p[0]).read_bytes() for p in paths]
    assert stored == PHOTOS
    assert all(p[0].startswith("reports/G1/") for p in paths)
    # No reminders after the report is in.
    before = len(host.messages())
    await h.tick(days=1)
    assert len(host.messages()) == before
    assert not any("逾期" in m.text for m in leader.messages())


async def test_edit_from_the_preview_and_matching_headcount(h: Harness) -> None:
    host = await h.register("T1")
    hr = await h.register("H1")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host, headcount="button", recommend=False,
                                photos=PHOTOS[:1])
    assert not said(preview.text, "reports.text.mismatch")
    assert said(preview.text, "reports.text.stated", count=2)
    asked = await after_press(host, preview, "✏️ 学习内容")
    assert said(asked.text, "reports.ask.studied")
    preview = await host.ask("改为：共读并讨论第十一至二十条。")
    assert said(preview.text, "reports.preview.header") and "第十一至二十条" in preview.text
    asked = await after_press(host, preview, "🖼 重新上传照片")
    assert said(asked.text, "reports.ask.photos")
    asked = await host.ask("照片等会儿发")
    assert said(asked.text, "reports.photos.send_photos")
    await host.send_photo(PHOTOS[2])
    status = await host.next_message(predicate=received(1))
    preview = await after_press(host, status, "照片已发完")
    assert said(preview.text, "reports.text.photos", count=1)
    done = await after_press(host, preview, "✅ 提交报告")
    assert said(done.text, "reports.submitted.ok")
    assert not said(done.text, "reports.submitted.mismatch")
    await h.flush()
    photos = [m for m in hr.messages() if m.media_type == "photo"]
    assert [m.file_bytes for m in photos] == [PHOTOS[2]]  # one photo: no album
    assert not said(hr_texts(hr)[0], "reports.text.mismatch")


async def test_photo_limits(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    await roll_call_and_end(h)
    await start_filing(h, host)
    await host.ask("学习内容")
    await host.ask("亮点")
    await send_album(host, [b"\xff\xd8 p%d" % i for i in range(10)], "big")
    full = await host.ask("…")  # text in the photo step
    assert said(full.text, "reports.photos.send_photos")
    await host.send_photo(b"\xff\xd8 eleventh")
    refused = await host.next_message()
    assert said(refused.text, "reports.photos.full", max=10)
    n = await h.services.db.fetchone("SELECT COUNT(*) FROM report_photos")
    assert n is not None and n[0] == 10


async def test_done_without_photos_and_too_big_photo(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    await roll_call_and_end(h)
    await start_filing(h, host)
    await host.ask("学习内容")
    await host.ask("亮点")
    # A photo over 20 MB (its size as Telegram reports it) is refused before downloading.
    stored = h.sandbox.store_file(b"\xff\xd8 huge", "photo", file_size=21 * 1024 * 1024)
    huge = h.sandbox.media_json(stored)
    h.sandbox.inject_message(host, host.chat_id, {"photo": huge}, kind="photo",
                             media_type="photo", file_id=stored.file_id)
    assert said((await host.next_message()).text, "reports.photos.too_big")
    await host.send_photo(PHOTOS[0])
    status = await host.next_message(predicate=received(1))
    row = await report_row(h)
    async with h.services.db.tx() as conn:  # the photo is gone, as if never sent
        await conn.execute("DELETE FROM report_photos WHERE report_pk = ?", (row["id"],))
    answer = await host.press(status, "照片已发完")
    assert answer.show_alert and said(answer.text, "reports.photos.need_one")


async def test_draft_survives_a_new_command_and_resumes(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    await roll_call_and_end(h)
    await start_filing(h, host)
    await host.ask("学习内容：共读")
    await host.ask("/upcoming")  # any command ends the dialog; the draft is in the database
    question = await start_filing(h, host)
    assert said(question.text, "reports.ask.highlights")  # resumes at the first missing answer
    assert (await report_row(h))["studied"] == "学习内容：共读"


async def test_dropping_the_recommendation_removes_its_document(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host)
    folder = h.config.files_dir / "reports" / "G1"
    assert len(list(folder.glob("work-*.docx"))) == 1
    question = await after_press(host, preview, "⭐ 推荐成果")
    assert said(question.text, "reports.ask.recommend")
    assert said((await host.ask("不用了")).text, "reports.ask.press_button")
    preview = await after_press(host, question, "不推荐")
    assert not said(preview.text, "reports.text.recommended")
    assert list(folder.glob("work-*.docx")) == []
    row = await report_row(h)
    assert row["recommended_member_pk"] is None and row["recommended_file"] is None


# -- amending -------------------------------------------------------------------------------


async def test_amend_before_the_deadline_then_not_after(h: Harness) -> None:
    host = await h.register("T1")
    hr = await h.register("H1")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host, headcount="2", recommend=False)
    done = await after_press(host, preview, "✅ 提交报告")
    await h.flush()
    photos_before = len([m for m in hr.messages() if m.media_type == "photo"])

    h.clock.set(at(9, 17, 0))
    offer = await host.ask("/report")
    assert offer.button_texts == [
        text_of("reports.list.item_amend", date="03-06", title="读书交流")]
    amending = await after_press(host, offer, offer.button_texts[0])
    assert said(amending.text, "reports.preview.header_amend", title="读书交流")
    await host.ask("/cancel")  # abandoned: nothing changes
    amending = await after_press(host, done, "✏️ 修改报告")
    assert said(amending.text, "reports.preview.header_amend", title="读书交流")
    assert text_of("reports.preview.submit_amend") in amending.button_texts
    asked = await after_press(host, amending, "✏️ 活动亮点")
    assert said(asked.text, "reports.ask.highlights")
    amending = await host.ask("补充：会后各校形成了改进清单。")
    assert "改进清单" in amending.text
    asked = await after_press(host, amending, "👥 到场人数")
    amending = await host.ask("4")
    assert said(amending.text, "reports.text.mismatch", stated=4, roll=2)
    # The amendment is not saved until it is submitted.
    assert (await report_row(h))["highlights"] == "人人发言，结合本校实际提出三条改进措施。"
    finished = await after_press(host, amending, "✅ 提交修改")
    assert said(finished.text, "reports.submitted.amended")
    assert said(finished.text, "reports.submitted.mismatch", diff="+2")
    await h.flush()
    amended = hr_texts(hr)[-1]
    assert amended.startswith(text_of("reports.hr.header_amended", title="读书交流", host="黄志强"))
    assert "改进清单" in amended and said(amended, "reports.text.amended", at="2026-03-09 17:00")
    assert said(amended, "reports.text.submitted", at="2026-03-06 12:00", verdict=ON_TIME)
    assert len([m for m in hr.messages() if m.media_type == "photo"]) == photos_before
    row = await report_row(h)
    assert row["amendments"] == 1 and row["stated_headcount"] == 4 and row["late"] == 0

    h.clock.set(at(9, 18, 1))
    answer = await host.press(finished, "✏️ 修改报告")
    assert answer.show_alert and said(answer.text, "reports.refused.deadline_passed")
    assert "读书交流" not in (await host.ask("/report")).text  # nothing left to file


async def test_amending_photos_replaces_them_only_when_submitted(h: Harness) -> None:
    host = await h.register("T1")
    hr = await h.register("H1")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host, recommend=False)
    done = await after_press(host, preview, "✅ 提交报告")
    await h.flush()
    amending = await after_press(host, done, "✏️ 修改报告")
    await after_press(host, amending, "🖼 重新上传照片")
    await host.send_photo(b"\xff\xd8 new one")
    status = await host.next_message(predicate=received(1))
    amending = await after_press(host, status, "照片已发完")
    assert said(amending.text, "reports.text.photos", count=1)
    row = await report_row(h)
    kept = await h.services.db.fetchall(
        "SELECT staged FROM report_photos WHERE report_pk = ?", (row["id"],))
    assert sorted(r[0] for r in kept) == [0, 0, 0, 1]
    await after_press(host, amending, "✅ 提交修改")
    await h.flush()
    kept = await h.services.db.fetchall(
        "SELECT staged, file_path FROM report_photos WHERE report_pk = ?", (row["id"],))
    assert [r[0] for r in kept] == [0]
    assert (h.config.files_dir / kept[0][1]).read_bytes() == b"\xff\xd8 new one"
    assert len(list((h.config.files_dir / "reports" / "G1").glob("*.jpg"))) == 1
    assert hr.messages()[-1].file_bytes == b"\xff\xd8 new one"


# -- reminders, escalation, late filing -----------------------------------------------------


async def test_every_reminder_the_escalation_and_a_late_report(h: Harness) -> None:
    host = await h.register("T1")
    leader = await h.register("L1")
    hr = await h.register("H1")
    await h.flush()
    h.clock.set(at(6, 11, 59))
    await h.tick()
    assert not any(said(m.text, "reports.remind.ended") for m in host.messages())
    await h.tick(minutes=1)  # 12:00: the activity ends
    assert said(host.last().text, "reports.remind.ended", title="读书交流", deadline=DEADLINE_ZH)
    count = len(host.messages())
    await h.tick(hours=12)
    await h.tick(days=1)
    assert len(host.messages()) == count  # nothing over the weekend

    h.clock.set(at(9, 8, 59))
    await h.tick()
    assert len(host.messages()) == count
    await h.tick(minutes=1)  # Monday 09:00
    assert said(host.last().text, "reports.remind.morning", title="读书交流", deadline=DEADLINE_ZH)
    h.clock.set(at(9, 16, 0))
    await h.tick()
    assert said(host.last().text, "reports.remind.before", title="读书交流", deadline=DEADLINE_ZH)
    await h.tick(minutes=30)
    count = len(host.messages())
    h.clock.set(at(9, 18, 0))
    await h.tick()
    assert len(host.messages()) == count  # at the deadline itself it is not overdue yet
    await h.tick(minutes=1)
    assert said(host.last().text, "reports.remind.overdue", title="读书交流")
    assert said(leader.last().text, "reports.remind.overdue_leader", title="读书交流",
                host="黄志强")
    count, leader_count = len(host.messages()), len(leader.messages())
    for _ in range(3):
        await h.tick(hours=5)
    assert (len(host.messages()), len(leader.messages())) == (count, leader_count)

    overview = await hr.ask("/reports")
    # G1, and G3 of the other group
    assert said(overview.text, "reports.overview.section", label=OVERDUE, count=2)
    assert said(overview.text, "reports.overview.line_due", title="读书交流", group="第一组",
                host="黄志强", deadline=DEADLINE_ZH)
    missing = await h.services.db.fetchone("SELECT COUNT(*) FROM reports")
    assert missing is not None and missing[0] == 0

    h.clock.set(at(10, 9, 30))
    offer = await host.ask("/report")
    intro = await after_press(host, offer, offer.button_texts[0])
    assert said(intro.text, "reports.intro.late", deadline=DEADLINE_ZH)
    await host.next_message()
    await host.ask("学习内容")
    await host.ask("亮点")
    await host.send_photo(PHOTOS[0])
    status = await host.next_message(predicate=received(1))
    await after_press(host, status, "照片已发完")
    recommend_q = host.last()
    count_q = await after_press(host, recommend_q, "不推荐")
    assert said(count_q.text, "reports.ask.headcount")
    preview = await host.ask("2")
    done = await after_press(host, preview, "✅ 提交报告")
    assert said(done.text, "reports.submitted.late") and done.button_texts == []
    await h.flush()
    assert hr_texts(hr)[-1].startswith(
        text_of("reports.hr.header_late", title="读书交流", host="黄志强"))
    assert said(hr_texts(hr)[-1], "reports.text.submitted", verdict=text_of("reports.text.late"))
    assert (await report_row(h))["late"] == 1
    overview = await hr.ask("/reports")
    assert said(overview.text, "reports.overview.section", label=LATE_FILED, count=1)
    assert said(overview.text, "reports.overview.section", label=OVERDUE, count=1)


async def test_after_downtime_only_the_latest_reminder(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    h.clock.set(at(9, 16, 30))  # down from before the activity ended until Monday 16:30
    await h.tick()
    texts = [m.text for m in host.messages() if "报告" in m.text]
    assert len(texts) == 1
    assert said(texts[0], "reports.remind.before", title="读书交流", deadline=DEADLINE_ZH)


async def test_leader_host_gets_one_overdue_notice(h: Harness) -> None:
    await import_schedule(
        h, "G4,group_study,视频讲座研讨,第一组,2026-03-05 10:00,2026-03-05 12:00,会议室,,,L1"
    )
    leader = await h.register("L1")
    await h.flush()
    h.clock.set(at(6, 18, 1))
    await h.tick()
    overdue = [m for m in leader.messages()
               if said(m.text, "reports.remind.overdue", title="视频讲座研讨")
               or said(m.text, "reports.remind.overdue_leader", title="视频讲座研讨")]
    assert len(overdue) == 1


async def test_past_activities_imported_later_get_no_reminders(h: Harness) -> None:
    host = await h.register("T1")
    await h.flush()
    h.clock.set(at(10, 9, 0))
    await import_schedule(
        h, "G0,group_study,旧活动,第一组,2026-03-04 10:00,2026-03-04 12:00,会议室,,,T1"
    )
    before = len(host.messages())
    await h.tick()
    assert not any("旧活动" in m.text for m in host.messages()[before:])


# -- hand-over ------------------------------------------------------------------------------


async def test_leader_hands_the_hosting_to_another_member(h: Harness) -> None:
    leader = await h.register("L1")
    old = await h.register("T1")
    new = await h.register("T2")
    await h.flush()
    listing = await leader.ask("/handover")
    assert any("案例剖析" in b for b in listing.button_texts)
    assert not any("工作交流" in b for b in listing.button_texts)  # another group's
    g2 = next(b for b in listing.button_texts if "案例剖析" in b)
    answer = await leader.press(listing, g2)
    assert not answer.show_alert
    people = await h.sandbox.wait_for_bot_message(
        leader.chat_id, lambda m: said(m.text, "reports.handover.pick_member"),
        after=listing.message_id - 1)
    assert "T1" not in people.button_texts  # the current host is not offered
    assert said(people.text, "reports.handover.pick_member", title="案例剖析", host="黄志强")
    await leader.press(people, "邹立新")
    await h.sandbox.wait_for_bot_message(
        leader.chat_id, lambda m: said(m.text, "reports.handover.done", name="邹立新"),
        after=listing.message_id - 1)
    await h.flush()
    told = new.last().text
    assert said(told, "reports.handover.new_host", deadline=deadline_zh(3, 23, 0))
    assert "案例剖析" in told
    assert said(old.last().text, "reports.handover.old_host", name="邹立新")
    assert (await activity(h, "G2")).host_pk == await member_pk(h, "T2")
    audit = await h.services.db.fetchone(
        "SELECT before, after FROM audit_log WHERE action = 'activity.host'")
    assert audit is not None and json.loads(audit[1]) == {"host": "T2"}
    # A stale press of the old list cannot hand it to the member who already hosts it.
    again = await leader.press(people, "邹立新")
    assert again.show_alert and said(again.text, "reports.handover.refused.same", name="邹立新")
    # Not before a started activity: G1 has started by now.
    h.clock.set(at(20, 10, 30))
    answer = await leader.press_data(listing, f"rep:ho:{(await activity(h, 'G2')).pk}")
    assert answer.show_alert and said(answer.text, "reports.handover.refused.started")


async def test_only_the_leader_can_hand_over(h: Harness) -> None:
    trainee = await h.register("T1")
    other_leader = await h.register("L2")
    await h.flush()
    assert said((await trainee.ask("/handover")).text, "reports.handover.leaders_only")
    g2 = await activity(h, "G2")
    t2 = await member_pk(h, "T2")
    probe = await trainee.ask("/report")
    for user, message in ((trainee, probe), (other_leader, await other_leader.ask("/help"))):
        answer = await user.press_data(message, f"rep:hom:{g2.pk}:{t2}")
        assert answer.show_alert and said(answer.text, "error.forged")
    # The leader may not give it to someone of another group.
    leader = await h.register("L1")
    await h.flush()
    listing = await leader.ask("/handover")
    answer = await leader.press_data(listing, f"rep:hom:{g2.pk}:{await member_pk(h, 'T3')}")
    assert answer.show_alert and said(answer.text, "error.forged")
    assert (await activity(h, "G2")).host_pk == await member_pk(h, "T1")


# -- forged buttons and who sees what -------------------------------------------------------


async def test_forged_buttons_change_nothing(h: Harness) -> None:
    host = await h.register("T1")
    other = await h.register("T2")
    await h.flush()
    await roll_call_and_end(h)
    g1 = await activity(h)
    probe = await other.ask("/report")
    assert said(probe.text, "reports.list.nothing")
    for data in (f"rep:pick:{g1.pk}", "rep:pick:999", "rep:pick:x", "rep:zzz:1", "rep:sub:1",
                 "rep:done", f"rep:pick:{(await activity(h, 'G3')).pk}"):
        answer = await other.press_data(probe, data)
        assert answer.show_alert and said(answer.text, "error.forged"), data
    assert await h.services.db.fetchone("SELECT 1 FROM reports") is None

    preview = await file_report(h, host, recommend=False)
    row = await report_row(h)
    # Another member presses the host's preview buttons: refused, nothing submitted.
    for data in (f"rep:sub:{row['id']}", f"rep:ed:{row['id']}:st", f"rep:amend:{row['id']}"):
        answer = await other.press_data(probe, data)
        assert answer.show_alert and said(answer.text, "error.forged"), data
    assert (await report_row(h))["state"] == "draft"
    # The host's own button outside its step is stale, too.
    answer = await host.press_data(preview, f"rep:hc:{row['id']}:50")
    assert answer.show_alert
    assert (await report_row(h))["stated_headcount"] == 2
    answer = await host.press(preview, "✅ 提交报告")
    assert not answer.show_alert
    again = await host.press(preview, "✅ 提交报告")  # a double press submits once
    assert again.show_alert
    await h.flush()
    submitted = await h.services.db.fetchone(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'reports.submitted'")
    assert submitted is not None and submitted[0] == 0  # no HR member registered: no rows


async def test_overviews_and_opening_a_report(h: Harness) -> None:
    host = await h.register("T1")
    hr = await h.register("H1")
    leader = await h.register("L1")
    other_leader = await h.register("L2")
    trainee = await h.register("T3")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host)
    await after_press(host, preview, "✅ 提交报告")
    await h.flush()
    h.clock.set(at(9, 18, 30))

    overview = await hr.ask("/reports")
    assert said(overview.text, "reports.overview.section", label=ON_TIME_FILED, count=1)
    assert said(overview.text, "reports.overview.section", label=OVERDUE, count=1)
    assert said(overview.text, "reports.overview.line", title="工作交流", group="第二组",
                host="王芳")
    button = next(b for b in overview.button_texts if "读书交流" in b)
    await hr.press(overview, button)
    opened = await hr.next_message(predicate=lambda m: m.text.startswith(
        text_of("reports.view.header", title="读书交流", host="黄志强")))
    assert said(opened.text, "reports.text.names", status=ABSENT, names="罗宏伟")
    album = await hr.next_message()
    assert album.kind == "media_group_item"
    document = await hr.next_message(predicate=lambda m: m.media_type == "document")
    assert document.file_name == "三点体会.docx"

    mine = await leader.ask("/reports")
    assert said(mine.text, "reports.overview.header_group", group="第一组")
    assert "工作交流" not in mine.text
    theirs = await other_leader.ask("/reports")
    assert "读书交流" not in theirs.text
    assert said(theirs.text, "reports.overview.section", label=OVERDUE, count=1)
    report_pk = (await report_row(h))["id"]
    answer = await other_leader.press_data(theirs, f"rep:open:{report_pk}")
    assert answer.show_alert and said(answer.text, "error.forged")
    assert said((await trainee.ask("/reports")).text, "reports.overview.not_allowed")
    answer = await trainee.press_data(await trainee.ask("/help"), f"rep:open:{report_pk}")
    assert answer.show_alert


async def test_hr_chat_gets_the_report_when_configured(tmp_path: Path) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": -100500}) as h:
        group = h.sandbox.group(-100500, "人事科")
        await import_schedule(h, G1)
        host = await h.register("T1")
        await h.flush()
        await roll_call_and_end(h)
        preview = await file_report(h, host, recommend=False, photos=PHOTOS[:2])
        await after_press(host, preview, "✅ 提交报告")
        await h.flush()
        kinds = [(m.kind, m.media_type) for m in group.messages()]
        assert kinds == [("text", None), ("media_group_item", "photo"),
                         ("media_group_item", "photo")]
        assert "读书交流" in group.messages()[0].text


# -- export ---------------------------------------------------------------------------------


async def test_export_columns(h: Harness, tmp_path: Path) -> None:
    host = await h.register("T1")
    await h.flush()
    await roll_call_and_end(h)
    preview = await file_report(h, host, headcount="3")
    await after_press(host, preview, "✅ 提交报告")
    h.clock.set(at(10, 9, 0))
    out = tmp_path / "reports.csv"
    args = argparse.Namespace(codes=True, format="csv", date_from=dt.date(2026, 3, 1),
                              date_to=dt.date(2026, 3, 31), out=out, export_command="reports")
    assert await cli_export(args, h.config) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0].keys()) == list(COLUMNS) == [
        "activity_id", "title", "group", "date", "host_member_id", "host", "due_at",
        "submitted_at", "late", "present", "late_count", "early_leave", "absent", "excused",
        "stated_headcount", "studied", "highlights", "photos", "recommended",
    ]
    by_id = {r["activity_id"]: r for r in rows}
    assert set(by_id) == {"G1", "G2", "G3"}
    g1 = by_id["G1"]
    assert g1["title"] == "读书交流" and g1["group"] == "第一组" and g1["date"] == "2026-03-06"
    assert (g1["host_member_id"], g1["host"]) == ("T1", "黄志强")
    assert g1["due_at"] == "2026-03-09 18:00" and g1["late"] == "0"
    assert (g1["present"], g1["late_count"], g1["early_leave"], g1["absent"],
            g1["excused"]) == ("1", "1", "0", "1", "0")
    assert g1["stated_headcount"] == "3" and g1["photos"] == "3"
    assert g1["recommended"] == "T2 邹立新: 课堂管理的三点体会"
    assert by_id["G3"]["submitted_at"] == "" and by_id["G3"]["late"] == ""

    xlsx = tmp_path / "reports.xlsx"
    args.format, args.out = "xlsx", xlsx
    assert await cli_export(args, h.config) == 0
    import openpyxl

    ws = openpyxl.load_workbook(xlsx).active
    assert ws is not None
    assert [c.value for c in ws[1]] == list(COLUMNS)
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert isinstance(ws["D2"].value, dt.datetime | dt.date)

    args.date_from, args.date_to = dt.date(2026, 3, 7), dt.date(2026, 3, 1)
    assert await cli_export(args, h.config) == 2
