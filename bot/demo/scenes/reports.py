"""Demo scenes of activity reports: the leader hands the hosting of a group study to another
member, the roll call, the host told what is due, the morning reminder, the report filed with
an album of photos and a recommended work (the headcount differs from the roll call), HR's
copy, and the overviews HR and the leader see."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from typing import TYPE_CHECKING

from bot.demo.play import Demo
from bot.demo.scenes import Scene

if TYPE_CHECKING:
    from bot.sandbox.model import Entry

ORDER = 40
ACTIVITY_ID = "R001"
LEADER, FIRST_HOST, HOST, MEMBER, OTHER = "M001", "M004", "M003", "M002", "M005"


def _png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A small plain-colour PNG (a stand-in for a photo)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))



async def _import(demo: Demo) -> tuple[dt.datetime, dt.datetime]:
    """HR's schedule gains a group study of 第一组 in the evening, hosted by M004."""
    from bot.activities.importer import run_import
    from bot.app import services_of
    from bot.documents.tables import TableRow

    now = demo.clock.now()
    start = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    end = start + dt.timedelta(minutes=90)
    row = {
        "activity_id": ACTIVITY_ID, "type": "group_study", "title": "读书交流：静悄悄的革命",
        "group": "第一组", "start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}",
        "location": "东关小学会议室", "lat": "", "lon": "", "host_member_id": FIRST_HOST,
    }
    services = services_of(demo.app)
    result, problems = await run_import(
        services.db, services.config, [TableRow(2, row)], now, services.config.program.language,
    )
    assert result is not None, problems
    await demo.flush()
    return start, end


async def scene_handover_and_roll_call(demo: Demo) -> None:
    """The leader hands the hosting to another member before the activity (both are told);
    at the activity the new host shows the code and members check in; when it ends the host
    is told what is due and by when; on the due day's morning, a reminder."""
    await demo.register(LEADER, FIRST_HOST, HOST, MEMBER, OTHER)
    start, end = await _import(demo)
    leader = demo.person(LEADER)
    listing = await leader.ask("/handover")
    button = next(b for b in listing.button_texts if "静悄悄的革命" in b)
    await leader.press(listing, button)
    # The list turns into the choice of members, then into the result (edits of one message).
    for edits in (1, 2):
        def edited(entry: Entry, n: int = edits) -> bool:
            return entry is listing and entry.edits >= n

        await demo.sandbox.wait_for_bot_message(
            listing.chat_id, edited, after=listing.message_id - 1
        )
        if edits == 1:
            await leader.press(listing, demo.names[HOST])
    await demo.flush()

    demo.clock.set(start - dt.timedelta(minutes=10))
    host = demo.person(HOST)
    await host.ask("/code")
    code = (await host.next_message()).text
    for member_id in (HOST, LEADER, MEMBER):
        await demo.person(member_id).ask(f"/checkin {code}")
    demo.clock.set(end)
    await demo.tick(minutes=1)  # the roll call closes; the host is told what is due

    morning = dt.datetime.combine(end.date() + dt.timedelta(days=1), dt.time(8, 59),
                                  tzinfo=demo.clock.tz)
    while True:  # the first working day after the activity, at 09:00
        from bot.reports.rules import calendar_of

        if calendar_of(demo.config.calendar).is_workday(morning.date()):
            break
        morning += dt.timedelta(days=1)
    demo.clock.set(morning)
    await demo.tick(minutes=1)


async def scene_filing(demo: Demo) -> None:
    """The host files the report: attendance filled in from the roll call, what was studied,
    highlights, an album of three photos, a recommended reflection, a headcount that differs
    from the roll call, the preview, submission; HR gets the report and the album."""
    host = demo.person(HOST)
    demo.clock.set(demo.clock.now().replace(hour=10, minute=0))
    offer = await host.ask("/report")
    button = next(b for b in offer.button_texts if "静悄悄的革命" in b)
    await host.press(offer, button)
    await host.next_message()  # the attendance, filled in
    await host.next_message()  # what was studied?
    await host.ask("共读《静悄悄的革命》第一、二章，围绕“以学生为中心的课堂”分组讨论，"
                   "每人结合本校一节课谈改进设想。")
    await host.ask("大家带来了自己学校的课堂实录片段，对照书中“倾听”的观点逐一剖析，"
                   "形成了《倾听型课堂观察要点》初稿。")
    for colour in ((200, 120, 80), (90, 160, 210), (120, 190, 110)):
        await host.send_photo(_png(colour), media_group_id="demo-album-1")
    status = await host.next_message(predicate=lambda m: "3 张照片" in m.text)
    await host.press(status, "照片已发完")
    question = await host.next_message(predicate=lambda m: bool(m.buttons))
    await host.press(question, "⭐ 推荐成果")
    who = await host.next_message(predicate=lambda m: bool(m.buttons))
    await host.press(who, demo.names[MEMBER])
    await host.next_message()
    await host.ask("倾听，让课堂安静下来——读《静悄悄的革命》有感")
    await host.ask("读完前两章，我最大的感受是：课堂的改变从教师学会倾听开始。"
                   "以前我总急着把答案告诉学生，现在我尝试把问题留给学生，等一等，再等一等。")
    preview = await host.ask("4")  # one more than the roll call counted
    await host.press(preview, "✅ 提交报告")
    await host.next_message()
    await demo.flush()


async def scene_overviews(demo: Demo) -> None:
    """HR sees the reports by state and opens this one (text, photos, the recommended work);
    the leader sees the group's."""
    hr_id = next(m for m in demo.codes if m.startswith("H"))
    await demo.register(hr_id)
    hr = demo.person(hr_id)
    overview = await hr.ask("/reports")
    button = next((b for b in overview.button_texts if "静悄悄的革命" in b), None)
    if button is not None:
        await hr.press(overview, button)
        await hr.next_message()
    await demo.flush()
    await demo.person(LEADER).ask("/reports")


SCENES: list[Scene] = [scene_handover_and_roll_call, scene_filing, scene_overviews]
