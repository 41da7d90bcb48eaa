"""/announce: audience, preview, delivery through the outbox, progress line, refusals."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import big_roster, running_bot, said, wait_edit


async def test_announcement_to_one_group_with_progress(tmp_path: Path) -> None:
    async with running_bot(tmp_path, start_sender=False) as h:
        hr = await h.register("H1")
        t1 = await h.register("T1")
        t3 = await h.register("T3")
        l1 = await h.register("L1")
        t3_before = len(t3.messages())
        menu = await hr.ask("/announce")
        await hr.press(menu, "某个小组")
        groups = await wait_edit(h, hr.chat_id, menu.message_id, "announce.choose_group")
        assert groups
        await hr.press(hr.messages()[-1], "第一组")
        await wait_edit(h, hr.chat_id, menu.message_id, "announce.ask_text")
        preview = await hr.ask("周五下午三点在城关小学集中学习，请准时参加。")
        # 第一组 has L1, T1, T2; T2 never registered.
        assert said(preview.text, "announce.preview", count=3, reachable=2)
        await hr.press(preview, "✅ 发送")
        text = await wait_edit(h, hr.chat_id, preview.message_id, "announce.progress")
        assert said(text, "announce.progress", pending=2, unreachable=1)
        t1.block()
        await h.tick()  # delivers, then the progress check edits the line
        await h.tick()
        text = await wait_edit(h, hr.chat_id, preview.message_id, "announce.done")
        assert said(text, "announce.done", sent=1, unreachable=2)
        assert any("周五下午三点" in m.text for m in l1.messages())
        assert len(t3.messages()) == t3_before  # another group: nothing


async def test_only_hr_may_announce_and_buttons_are_checked(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        leader = await h.register("L1")
        assert said((await leader.ask("/announce")).text, "announce.hr_only")
        menu = await hr.ask("/announce")
        answer = await leader.press_data(menu, "ann:aud:all")
        assert answer.show_alert
        # A stale Send (no preview pending) changes nothing.
        answer = await hr.press_data(menu, "ann:send")
        assert answer.show_alert
        async with h.services.db.read() as conn:
            row = await (await conn.execute("SELECT COUNT(*) FROM announcements")).fetchone()
        assert row[0] == 0


async def test_over_long_announcement_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        menu = await hr.ask("/announce")
        await hr.press(menu, "全体成员")
        await wait_edit(h, hr.chat_id, menu.message_id, "announce.ask_text")
        reply = await hr.ask("字" * 3001)
        assert said(reply.text, "announce.too_long")


async def test_announcement_to_200_under_telegram_rate_limits(tmp_path: Path) -> None:
    from storage import members as members_repo

    async with running_bot(
        tmp_path, roster=big_roster(200), start_sender=False,
        outbox={"private_chat_interval_seconds": 1.0},
    ) as h:
        hr = await h.register("H1")
        # The other 199 link their accounts directly (registration is tested elsewhere).
        users = {}
        async with h.services.db.tx() as conn:
            for i in range(199):
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
        preview = await hr.ask("下周一上午九点在县教育局三楼会议室召开中期推进会。")
        assert said(preview.text, "announce.preview", count=200)
        await hr.press(preview, "✅ 发送")
        await wait_edit(h, hr.chat_id, preview.message_id, "announce.progress")
        h.sandbox.enforce_rate_limits = True
        # Deliver at Telegram's pace: 429s are rescheduled on the injectable clock.
        for _ in range(120):
            await h.flush()
            async with h.services.db.read() as conn:
                row = await (await conn.execute(
                    "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")).fetchone()
            if row[0] == 0:
                break
            h.clock.advance(seconds=1)
        await h.tick()
        text = await wait_edit(h, hr.chat_id, preview.message_id, "announce.done")
        assert said(text, "announce.done", sent=200, pending=0, unreachable=0)
        got = [sum("中期推进会" in m.text for m in u.messages()) for u in users.values()]
        assert got == [1] * 199
        assert sum("中期推进会" in m.text for m in hr.messages()) == 1


async def test_emoji_count_twice_against_the_limit_so_the_preview_fits(tmp_path: Path) -> None:
    """2,500 emoji are 2,500 characters but 5,000 UTF-16 units: the preview (text + a few lines)
    would be refused by Telegram, so the text is refused first; 1,500 emoji (3,000 units) go."""
    async with running_bot(tmp_path, start_sender=False) as h:
        hr = await h.register("H1")
        l2 = await h.register("L2")
        menu = await hr.ask("/announce")
        await hr.press(menu, "某个小组")
        await wait_edit(h, hr.chat_id, menu.message_id, "announce.choose_group")
        await hr.press(hr.messages()[-1], "第二组")
        await wait_edit(h, hr.chat_id, menu.message_id, "announce.ask_text")
        refused = await hr.ask("😀" * 2500)
        assert said(refused.text, "announce.too_long", length=5000)
        preview = await hr.ask("😀" * 1500)
        assert said(preview.text, "announce.preview")
        await hr.press(preview, "✅ 发送")
        await h.tick()
        await h.tick()
        text = await wait_edit(h, hr.chat_id, preview.message_id, "announce.done")
        assert said(text, "announce.done", sent=1)
        assert any("😀" * 1500 in m.text for m in l2.messages())
