"""The outbox sender against the sandbox: 429, 5xx, 403, per-chat order, restart, exactly once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.core.i18n import t
from bot.delivery import notify
from storage import members as members_repo
from storage import outbox as outbox_repo
from tests.helpers import Harness, restart, running_bot, said

# No background sender: only the tests' explicit flushes deliver.
pytestmark = pytest.mark.bot(start_sender=False)


async def queue(h: Harness, member_id: str, text_key: str = "register.leader_notice",
                n: int = 1) -> list[int]:
    ids = []
    async with h.services.db.tx() as conn:
        member = await members_repo.by_member_id(conn, member_id)
        assert member is not None
        for i in range(n):
            row = await notify.to_member(
                conn, h.config, member, text_key, now=h.services.now_ts(),
                name=f"成员{i}", member_id=f"X{i}", school="学校", group="第一组",
            )
            assert row is not None
            ids.append(row)
    return ids


async def statuses(h: Harness) -> dict[str, int]:
    async with h.services.db.read() as conn:
        return await outbox_repo.counts(conn)


async def test_429_then_success_delivers_once(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1")
    h.sandbox.fail_next("sendMessage", status=429, retry_after=5, chat_id=user.chat_id)
    assert await h.flush() == 0
    assert await statuses(h) == {"pending": 1}
    assert len(user.messages()) == 1  # only the welcome
    h.clock.advance(seconds=4)
    assert await h.flush() == 0  # retry_after not yet over
    h.clock.advance(seconds=2)
    assert await h.flush() == 1
    assert await statuses(h) == {"sent": 1}
    assert await h.flush() == 0
    notices = [m for m in user.messages() if said(m.text, "register.leader_notice")]
    assert len(notices) == 1


async def test_5xx_is_retried_with_backoff_then_given_up(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1")
    h.sandbox.fail_next("sendMessage", status=502, chat_id=user.chat_id, times=2)
    assert await h.flush() == 0
    h.clock.advance(seconds=2)
    assert await h.flush() == 0
    h.clock.advance(seconds=4)
    assert await h.flush() == 1
    async with h.services.db.read() as conn:
        row = await (await conn.execute("SELECT attempts, status FROM outbox")).fetchone()
    assert tuple(row) == (3, "sent")


async def test_403_marks_member_unreachable(h: Harness) -> None:
    user = await h.register("T1")
    await queue(h, "T1", n=3)
    user.block()
    assert await h.flush() == 0
    assert await statuses(h) == {"unreachable": 3}
    async with h.services.db.read() as conn:
        member = await members_repo.by_member_id(conn, "T1")
        unreachable = await members_repo.unreachable(conn)
    assert member is not None and member.unreachable_at is not None
    assert "T1" in [m.member_id for m in unreachable]


async def test_chat_order_is_kept(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1", n=5)
    assert await h.flush() == 5
    texts = [m.text for m in user.messages() if said(m.text, "register.leader_notice")]
    assert [t.split("：")[1][:3] for t in texts] == [f"成员{i}" for i in range(5)]


async def test_pending_rows_are_delivered_exactly_once_after_restart(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1", n=4)
    # The bot stops with four rows pending (as after a crash: nothing was marked sent).
    await restart(h)
    assert await h.flush() == 4
    await restart(h)
    assert await h.flush() == 0
    assert await statuses(h) == {"sent": 4}
    notices = [m for m in user.messages() if said(m.text, "register.leader_notice")]
    assert len(notices) == 4


async def test_dedupe_key_queues_once(h: Harness) -> None:
    async with h.services.db.tx() as conn:
        a = await outbox_repo.enqueue(conn, chat_id=1, kind="k", payload={"text": "x"},
                                      now=h.services.now_ts(), dedupe_key="same")
        b = await outbox_repo.enqueue(conn, chat_id=1, kind="k", payload={"text": "x"},
                                      now=h.services.now_ts(), dedupe_key="same")
    assert a is not None and b is None


async def test_stop_waits_for_the_pass_in_progress(tmp_path: Path) -> None:
    import asyncio

    async with running_bot(tmp_path, start_sender=False) as h:
        await h.register("L1")
        await queue(h, "L1")
        h.sandbox.set_delay("sendMessage", 0.3)
        before = h.sandbox.stats.requests.get("sendMessage", 0)
        sender = h.services.sender
        sender.start()
        for _ in range(500):  # until the (slow) send has reached the sandbox
            if h.sandbox.stats.requests.get("sendMessage", 0) > before:
                break
            await asyncio.sleep(0.01)
        await sender.stop()
        # stop() returned only after the pass marked its row: the database can close now.
        assert await statuses(h) == {"sent": 1}


# -- texts over Telegram's limits are split at enqueue (bot.delivery.notify.enqueue)
# -------------------

# ~10,000 UTF-16 units (6,400 characters) in 60 lines: three messages.
LONG_BODY = "\n".join(f"第{i:03d}段 " + "学习😀" * 40 for i in range(60))
BUTTONS = [[["好的", "x:ok"]]]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def queue_long(h: Harness, member_id: str, body: str = LONG_BODY,
                     dedupe_key: str | None = "long") -> int | None:
    async with h.services.db.tx() as conn:
        member = await members_repo.by_member_id(conn, member_id)
        assert member is not None
        return await notify.to_member(
            conn, h.config, member, "announce.message", now=h.services.now_ts(),
            buttons=BUTTONS, dedupe_key=dedupe_key, author="人事", text=body,
        )


async def test_a_notification_over_4096_arrives_whole_in_order_with_buttons_last(
    h: Harness,
) -> None:
    user = await h.register("L1")
    before = len(user.messages())
    assert _units(LONG_BODY) > 4096
    assert await queue_long(h, "L1") is not None
    assert await queue_long(h, "L1") is None  # a repeated enqueue dedupes every part
    assert await h.flush() == 3
    got = user.messages()[before:]
    assert len(got) == 3
    assert all(_units(m.text) <= 4096 for m in got)
    expected = t("zh", "announce.message", author="人事", text=LONG_BODY)
    assert "".join(m.text for m in got).replace("\n", "") == expected.replace("\n", "")
    assert [bool(m.buttons) for m in got] == [False, False, True]
    assert await statuses(h) == {"sent": 3}


async def test_a_split_text_keeps_its_order_when_a_part_is_retried(h: Harness) -> None:
    user = await h.register("L1")
    before = len(user.messages())
    body = "\n".join(f"行{i:04d} " + "字" * 90 for i in range(150))  # ~14,000 units: 4 parts
    await queue_long(h, "L1", body)
    await queue(h, "L1")  # then another notification to the same chat
    # Part 1 goes through, part 2 gets a 429: parts 3, 4 and the notice must wait for it.
    h.sandbox.fail_next("sendMessage", status=429, retry_after=5, chat_id=user.chat_id)
    assert await h.flush() == 0  # the first send hit the 429
    h.clock.advance(seconds=6)
    assert await h.flush() == 5
    got = user.messages()[before:]
    assert len(got) == 5
    numbers = [int(line[1:5]) for m in got[:4] for line in m.text.split("\n") if
               line.startswith("行")]
    assert numbers == list(range(150))
    assert said(got[4].text, "register.leader_notice")
    assert [bool(m.buttons) for m in got] == [False, False, False, True, False]


async def test_a_photo_with_a_caption_over_1024_keeps_the_rest_as_text(
    h: Harness, tmp_path: Path
) -> None:
    user = await h.register("L1")
    before = len(user.messages())
    photo = tmp_path / "p.png"
    photo.write_bytes(_PNG)
    caption = "\n".join(f"说明{i:02d} " + "图" * 50 for i in range(40))  # ~2,300 units
    async with h.services.db.tx() as conn:
        await notify.enqueue(
            conn, chat_id=user.chat_id, kind="k", now=h.services.now_ts(),
            payload={"photo": str(photo), "text": caption, "buttons": BUTTONS},
        )
    assert await h.flush() == 2
    got = user.messages()[before:]
    assert [m.media_type for m in got] == ["photo", None]
    assert _units(got[0].text) <= 1024
    assert (got[0].text + got[1].text).replace("\n", "") == caption.replace("\n", "")
    assert [bool(m.buttons) for m in got] == [False, True]


async def test_a_row_telegram_refuses_with_400_fails_once_with_its_reason(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    user = await h.register("L1")
    ids = await queue(h, "L1", n=2)
    h.sandbox.fail_next("sendMessage", status=400, chat_id=user.chat_id,
                        description="Bad Request: message is too long")
    calls = h.sandbox.stats.requests.get("sendMessage", 0)
    with caplog.at_level(logging.ERROR, logger="bot.delivery.outbox"):
        assert await h.flush() == 1  # the next row of the chat is not held back
    assert f"outbox row {ids[0]} rejected" in caplog.text and "too long" in caplog.text
    async with h.services.db.read() as conn:
        row = await (await conn.execute(
            "SELECT status, attempts, last_error FROM outbox WHERE id = ?", (ids[0],)
        )).fetchone()
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "message is too long" in row["last_error"].lower()
    assert await statuses(h) == {"failed": 1, "sent": 1}
    # Not retried: later passes leave it alone.
    h.clock.advance(hours=1)
    assert await h.flush() == 0
    assert h.sandbox.stats.requests.get("sendMessage", 0) == calls + 2


# A 1x1 PNG.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
