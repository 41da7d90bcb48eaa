"""Faults during an announcement: a 429 storm, 5xx answers, slow answers and timeouts, a user
who blocked the bot. The bot stays up and loses nothing: every reachable recipient gets the
announcement exactly once, the blocked one is `unreachable` (and flagged for HR), no row is
left pending."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from storage import members as members_repo
from tests.helpers import Harness, big_roster, running_bot, said, wait_edit

MEMBERS = 40  # H1 and M000..M038
TEXT = "本周六上午九点在县教育局三楼会议室召开期中推进会，请准时参加。"
BLOCKED = 50_007  # M007


async def pending(h: Harness) -> int:
    async with h.services.db.read() as conn:
        row = await (await conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")).fetchone()
    assert row is not None
    return int(row[0])


async def test_announcement_survives_429_5xx_timeouts_and_a_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path, roster=big_roster(MEMBERS), start_sender=False) as h:
        hr = await h.register("H1")
        users = {}
        async with h.services.db.tx() as conn:
            for i in range(MEMBERS - 1):
                user = h.sandbox.user(50_000 + i, f"成员{i}")
                member = await members_repo.by_member_id(conn, f"M{i:03d}")
                assert member is not None
                await members_repo.link_telegram(
                    conn, member.pk, user.id, "zh", h.services.now_ts()
                )
                users[user.id] = user
        menu = await hr.ask("/announce")
        await hr.press(menu, "全体成员")
        await wait_edit(h, hr.chat_id, menu.message_id, "announce.ask_text")
        preview = await hr.ask(TEXT)
        assert said(preview.text, "announce.preview", count=MEMBERS)
        await hr.press(preview, "✅ 发送")
        await wait_edit(h, hr.chat_id, preview.message_id, "announce.progress")
        assert await pending(h) == MEMBERS
        users[BLOCKED].block()
        sb = h.sandbox

        # 1. Slow answers the sender gives up on: a read timeout of 0.1 s against answers
        # 2 s late (the outbox bot's own timeout is PTB's default 5 s; shortened here so the
        # test does not wait for it). Every send of this pass times out and is retried later.
        # The sandbox drops a send whose client went away before its answer; the wide margin
        # keeps that true on a loaded machine (a send that completes after the client gave up
        # is delivered, as on Telegram, and its retry would be a second copy).
        impatient = Bot(
            sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url,
            request=HTTPXRequest(connection_pool_size=32, read_timeout=0.1),
        )
        await impatient.initialize()
        sender = h.services.sender
        monkeypatch.setattr(sender, "_bot", impatient)
        sb.set_delay("sendMessage", 2.0)
        tried_before = sb.stats.requests["sendMessage"]
        try:
            assert await h.flush() == 0
        finally:
            sb.set_delay("sendMessage", 0)
            monkeypatch.undo()
            await impatient.shutdown()
        assert sum("期中推进会" in m.text for u in users.values() for m in u.messages()) == 0
        assert await pending(h) == MEMBERS  # all retried later, none given up
        assert sb.stats.requests["sendMessage"] - tried_before >= MEMBERS  # all were tried
        async with h.services.db.read() as conn:
            row = await (await conn.execute(
                "SELECT MIN(attempts), MAX(attempts) FROM outbox WHERE status = 'pending'"
            )).fetchone()
        # Each one counted as a failed attempt (so the backoff grows).
        assert row is not None and tuple(row) == (1, 1)

        # 2. A 429 storm, then 5xx answers, then slow (but not too slow) answers.
        sb.fail_next("sendMessage", status=429, retry_after=2, times=30)
        sb.fail_next("sendMessage", status=502, times=10)
        sb.set_delay("sendMessage", 0.2)
        limited_before, fivexx_before = sb.stats.rate_limited, sb.stats.injected_5xx
        for step in range(200):
            if step == 3:
                sb.set_delay("sendMessage", 0)  # a few slow passes are enough
            await h.flush()
            if await pending(h) == 0:
                break
            h.clock.advance(seconds=2)
        sb.set_delay("sendMessage", 0)
        assert sb.stats.rate_limited - limited_before == 30
        assert sb.stats.injected_5xx - fivexx_before == 10
        assert await pending(h) == 0

        # Nothing lost, nothing twice.
        got = {uid: sum(TEXT in (m.text or "") for m in u.messages())
               for uid, u in users.items()}
        assert got[BLOCKED] == 0
        assert {uid: n for uid, n in got.items() if uid != BLOCKED} == {
            uid: 1 for uid in users if uid != BLOCKED
        }
        assert sum(TEXT in (m.text or "") for m in hr.messages()) == 1
        async with h.services.db.read() as conn:
            rows = list(await (await conn.execute(
                "SELECT chat_id, status FROM outbox WHERE payload LIKE ?", (f"%{TEXT[:12]}%",),
            )).fetchall())
            flagged = await (await conn.execute(
                "SELECT telegram_id FROM members WHERE unreachable_at IS NOT NULL")).fetchall()
        statuses = {int(r[0]): str(r[1]) for r in rows}
        assert len(rows) == MEMBERS  # one row per recipient
        assert statuses[BLOCKED] == "unreachable"
        assert {s for c, s in statuses.items() if c != BLOCKED} == {"sent"}
        assert [int(r[0]) for r in flagged] == [BLOCKED]

        # The progress line tells HR, and the bot still answers.
        await h.tick()
        text = await wait_edit(h, hr.chat_id, preview.message_id, "announce.done")
        assert said(text, "announce.done", sent=MEMBERS - 1, unreachable=1, pending=0)
        assert "周敏" in (await hr.ask("/me")).text
        assert "成员1" in (await users[50_001].ask("/me")).text
