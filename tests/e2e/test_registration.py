"""Registration end to end: deep link, typed code, wrong and used codes, the try limit,
unregistered users, /me and /help per role, the leader's notification, command menus."""

from __future__ import annotations

import pytest

from storage import members as members_repo
from tests.helpers import Harness, said


async def member_by_tg(h: Harness, telegram_id: int):  # type: ignore[no-untyped-def]
    async with h.services.db.read() as conn:
        return await members_repo.by_telegram_id(conn, telegram_id)


async def test_deep_link_registers_and_notifies_leader(h: Harness) -> None:
    leader = await h.register("L1")
    user = h.new_user("黄")
    reply = await user.ask(f"/start {h.codes['T1']}")
    assert said(reply.text, "register.welcome", name="黄志强", group="第一组")
    member = await member_by_tg(h, user.id)
    assert member is not None and member.member_id == "T1"
    await h.flush()
    notice = await leader.next_message()
    assert said(notice.text, "register.leader_notice", name="黄志强", group="第一组")
    # The command menu of the chat is set by role.
    names = [name for name, _ in h.sandbox.commands_for(user.chat_id)]
    assert names[:3] == ["start", "help", "me"]


async def test_typed_code_after_start(h: Harness) -> None:
    user = h.new_user()
    prompt = await user.ask("/start")
    assert said(prompt.text, "register.ask_code")
    reply = await user.ask(h.codes["T2"].lower())
    assert said(reply.text, "register.welcome", name="邹立新")
    assert (await member_by_tg(h, user.id)) is not None


async def test_wrong_code_changes_nothing(h: Harness) -> None:
    user = h.new_user()
    reply = await user.ask("/start ZZZZ9999")
    assert said(reply.text, "register.wrong_code", left=4)
    assert await member_by_tg(h, user.id) is None


async def test_used_code_is_refused(h: Harness) -> None:
    await h.register("T1")
    other = h.new_user()
    reply = await other.ask(f"/start {h.codes['T1']}")
    assert said(reply.text, "register.used_code")
    assert await member_by_tg(h, other.id) is None


async def test_sixth_try_is_refused_even_with_the_right_code(h: Harness) -> None:
    user = h.new_user()
    for i in range(4):
        reply = await user.ask(f"WRONG00{i}")
        assert said(reply.text, "register.wrong_code")
    fifth = await user.ask("WRONG005")
    assert said(fifth.text, "register.too_many")
    sixth = await user.ask(f"/start {h.codes['T1']}")
    assert said(sixth.text, "register.too_many", until="10:00")
    assert await member_by_tg(h, user.id) is None
    # An hour after the first wrong try, the limit lifts.
    h.clock.advance(hours=1, minutes=1)
    ok = await user.ask(f"/start {h.codes['T1']}")
    assert said(ok.text, "register.welcome")


async def test_unregistered_user_gets_only_how_to(h: Harness) -> None:
    user = h.new_user()
    for text in ("/me", "/help", "你好，请问怎么签到？"):
        reply = await user.ask(text)
        assert said(reply.text, "register.how_to"), text


async def test_start_again_shows_status(h: Harness) -> None:
    user = await h.register("T3")
    reply = await user.ask("/start")
    assert said(reply.text, "register.already", name="王芳", group="第二组")


@pytest.mark.parametrize(
    ("member_id", "expected", "absent"),
    [
        ("T1", ["姓名：黄志强", "角色：学员", "小组：第一组", "组长：罗宏伟"], []),
        ("L2", ["姓名：陈静", "角色：组长", "小组：第二组", "组长：陈静"], []),
        ("H1", ["姓名：周敏", "角色：人事部门", "小组：无"], ["组长：罗"]),
    ],
)
async def test_me_per_role(
    h: Harness, member_id: str, expected: list[str], absent: list[str]
) -> None:
    user = await h.register(member_id)
    reply = await user.ask("/me")
    for part in expected:
        assert part in reply.text
    for part in absent:
        assert part not in reply.text


@pytest.mark.parametrize("member_id", ["T1", "L1", "H1"])
async def test_help_lists_the_role_commands(h: Harness, member_id: str) -> None:
    from bot.core import commands

    user = await h.register(member_id)
    reply = await user.ask("/help")
    async with h.services.db.read() as conn:
        member = await members_repo.by_telegram_id(conn, user.id)
    assert member is not None
    for spec in commands.for_role(member.role):
        assert f"/{spec.name}" in reply.text
    menu = [name for name, _ in h.sandbox.commands_for(user.chat_id)]
    assert menu == [spec.name for spec in commands.for_role(member.role)]
