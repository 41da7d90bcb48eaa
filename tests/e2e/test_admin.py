"""/admin: deactivate, reactivate, move, change leader, new invite, unreachable; audit; refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.sandbox.client import SandboxUser
from bot.sandbox.model import Entry
from storage import audit as audit_repo
from tests.helpers import Harness, member, running_bot, said, text_of


async def tap(h: Harness, user: SandboxUser, message: Entry, button: str, key: str,
              **params: Any) -> Entry:
    """Presses a button on the admin message and waits for it to be edited to say `key`."""
    await user.press(message, button)
    return await h.sandbox.wait_for_bot_message(
        user.chat_id,
        lambda e: e.message_id == message.message_id and said(e.text, key, **params),
        after=message.message_id - 1,
    )


async def test_deactivate_then_reactivate_with_audit_and_notices(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        leader = await h.register("L1")
        t1 = await h.register("T1")
        await h.flush()
        menu = await hr.ask("/admin")
        msg = await tap(h, hr, menu, text_of("admin.members"), "admin.choose_group")
        msg = await tap(h, hr, msg, "第一组", "admin.choose_member")
        msg = await tap(h, hr, msg, "黄志强", "admin.card", name="黄志强",
                        member_id="T1")
        msg = await tap(h, hr, msg, "停用", "admin.confirm_off", name="黄志强")
        assert (await member(h, "T1")).active  # nothing before the confirm
        msg = await tap(h, hr, msg, "✅ 确认", "admin.done_deactivated", name="黄志强")
        assert not (await member(h, "T1")).active
        await h.flush()
        assert said(t1.messages()[-1].text, "admin.told_deactivated")
        assert said(leader.messages()[-1].text, "admin.leader_told_inactive", name="黄志强")
        # The deactivated trainee is now told so, whatever they send.
        assert said((await t1.ask("/me")).text, "register.inactive")
        # Pressing the same confirm again changes nothing.
        t1_pk = (await member(h, "T1")).pk
        answer = await hr.press_data(msg, f"adm:do:off:{t1_pk}")
        assert answer.show_alert
        async with h.services.db.read() as conn:
            rows = await audit_repo.for_subject(conn, "member:T1")
        actions = [r["action"] for r in rows]
        assert "admin.deactivate" in actions
        last = rows[-1]
        assert json.loads(last["before"])["active"] is True
        assert json.loads(last["after"])["active"] is False
        # Reactivate through the confirm callback directly (same path as the buttons).
        pk = (await member(h, "T1")).pk
        await hr.press_data(msg, f"adm:do:on:{pk}")
        await h.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: said(
                e.text, "admin.done_reactivated", name="黄志强"
            ), after=menu.message_id - 1
        )
        assert (await member(h, "T1")).active
        async with h.services.db.read() as conn:
            rows = await audit_repo.for_subject(conn, "member:T1")
        assert rows[-1]["action"] == "admin.reactivate"
        assert json.loads(rows[-1]["after"])["active"] is True


async def test_move_change_leader_and_new_invite(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        l1 = await h.register("L1")
        l2 = await h.register("L2")
        t1 = await h.register("T1")
        await h.flush()
        pk = (await member(h, "T1")).pk
        g2 = (await member(h, "L2")).group_id
        menu = await hr.ask("/admin")
        await hr.press_data(menu, f"adm:ask:mv:{pk}:{g2}")
        await h.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: said(e.text, "admin.confirm_mv", name="黄志强", group="第二组"),
            after=menu.message_id - 1,
        )
        await hr.press(hr.messages()[-1], "✅ 确认")
        await h.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: said(e.text, "admin.done_moved", name="黄志强", group="第二组"),
            after=menu.message_id - 1,
        )
        moved = await member(h, "T1")
        assert moved.group_name == "第二组"
        await h.flush()
        assert said(t1.messages()[-1].text, "admin.told_moved", group="第二组")
        assert said(l1.messages()[-1].text, "admin.leader_told_left")
        assert said(l2.messages()[-1].text, "admin.leader_told_joined")
        # T1 now leads 第二组; L2 becomes a trainee; menus follow the roles.
        await hr.press_data(menu, f"adm:do:ld:{pk}:{g2}")
        await h.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: said(e.text, "admin.done_leader", group="第二组"),
            after=menu.message_id - 1,
        )
        assert (await member(h, "T1")).role == "leader"
        assert (await member(h, "L2")).role == "trainee"
        assert "admin" not in dict(h.sandbox.commands_for(t1.chat_id))
        # A new invite unlinks the old account; the new code registers a new one.
        await hr.press_data(menu, f"adm:do:inv:{pk}")
        reissued = await h.sandbox.wait_for_bot_message(
            hr.chat_id, lambda e: said(
                e.text, "admin.done_reissued", name="黄志强"
            ), after=menu.message_id - 1
        )
        code = reissued.text.split("新邀请码：")[1].split()[0]
        assert (await member(h, "T1")).telegram_id is None
        phone = h.new_user("新手机")
        assert said((await phone.ask(f"/start {code}")).text, "register.welcome", name="黄志强")
        # Every change left its audit row: who, before, after.
        hr_pk = (await member(h, "H1")).pk
        async with h.services.db.read() as conn:
            t1_rows = await audit_repo.for_subject(conn, "member:T1")
            group_rows = await audit_repo.for_subject(conn, "group:第二组")
        by_action = {r["action"]: r for r in t1_rows}
        assert json.loads(by_action["admin.move"]["before"])["group"] == "第一组"
        assert json.loads(by_action["admin.move"]["after"])["group"] == "第二组"
        assert json.loads(by_action["admin.reissue"]["before"])["telegram_id"] == t1.id
        assert json.loads(by_action["admin.reissue"]["after"])["telegram_id"] is None
        leader_row = next(r for r in group_rows if r["action"] == "admin.leader")
        assert json.loads(leader_row["before"]) == {"leader": "L2"}
        assert json.loads(leader_row["after"]) == {"leader": "T1"}
        assert {r["actor_pk"] for r in [*t1_rows[-2:], leader_row]} == {hr_pk}


async def test_unreachable_list_and_refusals(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        hr = await h.register("H1")
        trainee = await h.register("T1")
        assert said((await trainee.ask("/admin")).text, "admin.hr_only")
        menu = await hr.ask("/admin")
        answer = await trainee.press_data(menu, "adm:do:off:1")
        assert answer.show_alert
        assert (await member(h, "L1")).active
        msg = await tap(h, hr, menu, "📵 无法联系的成员", "admin.unreachable_header")
        assert said(
            msg.text,
            "admin.unreachable_line",
            name="罗宏伟",
            member_id="L1",
            group="第一组",
            why=text_of("admin.never_started"),
        )
        assert "黄志强" not in msg.text
        pending = await hr.press_data(menu, "adm:pend")
        assert pending is not None
        # A leader cannot be deactivated before the group has another leader.
        l1 = await member(h, "L1")
        answer = await hr.press_data(menu, f"adm:do:off:{l1.pk}")
        assert answer.show_alert and said(answer.text, "admin.leader_first")
        assert (await member(h, "L1")).active
