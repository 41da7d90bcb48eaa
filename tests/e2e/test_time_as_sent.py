"""Deadlines judged by the time the member sent the message, not by when the bot handled it
(issue 15): the bot is down across the late mark, the check-out window's end and the leave
cutoff, and the messages sent meanwhile (held by Telegram, here the sandbox, with the date it
stamped) are handled after the restart. A button press carries no date: one the bot had stored
before a crash counts from when it was stored. A date in the future counts as now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.activities.rules import current_code
from bot.activities.scheduling import rules_of
from bot.app import build_application, start_app, stop_app
from bot.core import scheduler
from storage.activities import Activity
from storage.db import ts
from tests.helpers import (
    TZ,
    Crash,
    Harness,
    activity,
    edited,
    import_schedule,
    restart,
    running_bot,
    said,
    text_of,
)

# Everyone, in person without coordinates (the code alone), 10:00-12:00: late after 10:05,
# check-out from 11:45. 第一组's group study at 15:00: with a 60-minute cutoff, leave until 14:00.
C1 = "C1,collective,主题培训,,2026-03-02 10:00,2026-03-02 12:00,报告厅,,,"
G1 = "G1,group_study,读书交流,第一组,2026-03-02 15:00,2026-03-02 17:00,会议室,,,T1"


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hh, mm, ss, tzinfo=TZ)


def code(h: Harness, c1: Activity) -> str:
    """C1's code as the host's screen shows it at the clock's time."""
    return current_code(c1.secret, h.clock.now(), rules_of(h.config.checkin))


async def record(h: Harness, member_id: str) -> tuple[str, str | None, str | None] | None:
    """(status, checkin_at, checkout_at) of the member's C1 record."""
    row = await h.services.db.fetchone(
        "SELECT r.status, r.checkin_at, r.checkout_at FROM attendance r"
        " JOIN activities a ON a.id = r.activity_pk JOIN members m ON m.id = r.member_pk"
        " WHERE a.activity_id = 'C1' AND m.member_id = ?", (member_id,),
    )
    return None if row is None else (str(row[0]), row[1], row[2])


async def down(h: Harness) -> None:
    """The bot stops; what members send meanwhile waits at Telegram (the sandbox)."""
    await stop_app(h.app)


async def up(h: Harness) -> None:
    """The bot starts again on the same database and fetches what waited."""
    h.app = build_application(h.config, h.options)
    await start_app(h.app)


@pytest.fixture
async def h(h: Harness) -> Harness:
    await import_schedule(h, C1)
    return h


async def test_checkins_sent_before_the_late_mark_are_present_though_handled_after(
    h: Harness,
) -> None:
    l1, t2, t3 = [await h.register(m) for m in ("L1", "T2", "T3")]
    await h.flush()
    l1.skip_pending()  # the leader was told of the registrations
    c1 = await activity(h, "C1")
    h.clock.set(at(10, 4, 53))
    on_time = code(h, c1)
    await down(h)
    await l1.send(f"/checkin {on_time}")
    await t2.send(f"/checkin {on_time}")
    h.clock.set(at(10, 5, 30))
    await t3.send(f"/checkin {code(h, c1)}")
    h.clock.set(at(10, 36))  # the bot is back half an hour later; the codes have rotated since
    await up(h)
    for user in (l1, t2):
        assert said((await user.next_message()).text, "attendance.checkin.ok", at="10:04")
    assert said((await t3.next_message()).text, "attendance.checkin.ok_late", at="10:05")
    # The check-in time recorded is the time sent.
    assert await record(h, "L1") == ("present", ts(at(10, 4, 53)), None)
    assert await record(h, "T2") == ("present", ts(at(10, 4, 53)), None)
    assert await record(h, "T3") == ("late", ts(at(10, 5, 30)), None)


async def test_checkouts_are_judged_by_the_time_sent(h: Harness) -> None:
    l1, t2 = await h.register("L1"), await h.register("T2")
    await h.flush()
    l1.skip_pending()  # the leader was told of the registration
    c1 = await activity(h, "C1")
    h.clock.set(at(10, 0))
    for user in (l1, t2):
        assert said((await user.ask(f"/checkin {code(h, c1)}")).text, "attendance.checkin.ok")
    await down(h)
    h.clock.set(at(11, 40))
    await t2.send("/checkout")  # before the check-out window: an early leave
    h.clock.set(at(11, 58))
    await l1.send("/checkout")  # in the window, two minutes before the end
    h.clock.set(at(12, 3))  # handled after the end
    await up(h)
    early = await t2.next_message()
    assert said(early.text, "attendance.checkout.confirm") and "11:45" in early.text
    assert said((await l1.next_message()).text, "attendance.checkout.ok", at="11:58")
    assert await record(h, "L1") == ("present", ts(at(10, 0)), ts(at(11, 58)))
    assert await record(h, "T2") == ("present", ts(at(10, 0)), None)


async def test_a_message_dated_in_the_future_counts_as_sent_now(h: Harness) -> None:
    t2 = await h.register("T2")
    h.clock.set(at(10, 4))
    # Telegram's date twenty minutes ahead (a wrong clock somewhere): not taken for late.
    await t2.send(f"/checkin {code(h, await activity(h, 'C1'))}", date=at(10, 24))
    assert said((await t2.next_message()).text, "attendance.checkin.ok")
    assert await record(h, "T2") == ("present", ts(at(10, 4)), None)


async def test_leave_asked_before_the_cutoff_is_accepted_though_handled_after(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, leave={"cutoff_minutes": 60}) as h:
        await import_schedule(h, G1)
        t1, t2 = await h.register("T1"), await h.register("T2")
        # /leave sent while the bot is down: in time at 13:59:30, too late at 14:00:30.
        await down(h)
        h.clock.set(at(13, 59, 30))
        await t1.send("/leave G1")
        h.clock.set(at(14, 0, 30))
        await t2.send("/leave G1")
        h.clock.set(at(14, 10))
        await up(h)
        assert said((await t1.next_message()).text, "leave.ask.reason")
        assert said((await t2.next_message()).text, "leave.ask.too_late", deadline="03-02 14:00")


async def test_a_confirming_tap_stored_before_the_cutoff_counts_from_then(
    tmp_path: Path, crash: Crash,
) -> None:
    async with running_bot(tmp_path, leave={"cutoff_minutes": 60}) as h:
        await import_schedule(h, G1)
        t1 = await h.register("T1")
        h.clock.set(at(13, 50))
        prompt = await t1.ask("/leave G1")
        assert said(prompt.text, "leave.ask.reason"), prompt.text
        confirm = await t1.ask("家中有事")
        send = text_of("leave.btn.send")
        # The tap arrives at 13:59 and is stored; the process dies before handling it and
        # the restart replays it at 14:05, past the cutoff.
        h.clock.set(at(13, 59))
        crash.start()
        h.sandbox.inject_callback(t1, confirm, dict(confirm.buttons)[send], send)
        await crash.wait(1)
        crash.end()
        h.clock.set(at(14, 5))
        await restart(h)
        assert said((await edited(h, confirm)).text, "leave.ask.sent")
        row = await h.services.db.fetchone(
            "SELECT r.state, r.late, r.created_at FROM leave_requests r"
            " JOIN members m ON m.id = r.member_pk WHERE m.member_id = 'T1'")
        assert row is not None
        # Accepted by the time it was received; the record is dated when the bot made it.
        assert (row[0], row[1], row[2]) == ("pending", 0, ts(at(14, 5)))


async def test_a_roll_call_that_ended_during_the_outage_closes_after_what_was_sent_in_time(
    h: Harness,
) -> None:
    """The bot comes back after C1 ended: the periodic tick (which closes the roll call) waits
    until what members sent while it was down is handled, so a check-in sent before the end
    counts, and only those who sent nothing are absent."""
    l1, t2 = await h.register("L1"), await h.register("T2")
    await h.flush()
    l1.skip_pending()
    c1 = await activity(h, "C1")
    h.clock.set(at(11, 50))
    sent = code(h, c1)
    await down(h)
    await t2.send(f"/checkin {sent}")  # late, but before the 12:00 end
    h.clock.set(at(12, 30))
    h.sandbox.set_delay("getUpdates", 1.0)  # the backlog is not fetched yet when the tick comes
    await up(h)
    assert await scheduler.periodic_tick(h.app) is None  # not before the backlog is handled
    h.sandbox.set_delay("getUpdates", 0)
    assert said((await t2.next_message(timeout=10)).text, "attendance.checkin.ok_late",
                at="11:50")
    await h.app.bot_data["inbound_ready"].wait()
    done = await scheduler.periodic_tick(h.app)
    assert done is not None and done["attendance.close"] == 1
    assert await record(h, "L1") == ("absent", None, None)
    assert (await record(h, "T2") or ("",))[0] == "late"
    await h.flush()
    assert not any(said(e.text, "attendance.notice.absent") for e in t2.messages())
