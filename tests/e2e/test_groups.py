"""Group chats: nothing personal or administrative is ever answered in one.

In a group or supergroup a registered member's command gets one line saying it works in the
private chat, with a button that opens it; /help lists what works in a group and /chatid tells
HR the chat's id; strangers, other bots' commands and free input get nothing; a button pressed
there only raises an alert (in the HR chat, the cards the bot posted there still work). Every
test reads the group's transcript: only those answers, no document, photo, name, id, school,
reason or score.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.sandbox.client import Entry, SandboxGroup, SandboxUser
from tests.e2e.test_authorization import (
    CALLBACKS,
    PEOPLE,
    SCHEDULE,
    all_commands,
    build_state,
    buttons_of,
    differences,
    snapshot,
)
from tests.e2e.test_leave import DECIDE
from tests.e2e.test_leave import request as leave_request
from tests.helpers import (
    SMALL_ROSTER,
    Harness,
    edited,
    import_schedule,
    running_bot,
    said,
    settled,
)
from tests.helpers import text_of as t

GROUP_ID = -4001  # a basic group
SUPERGROUP_ID = -1001234567890  # a supergroup (ids of -10**12 and below)
CHATS = {"group": GROUP_ID, "supergroup": SUPERGROUP_ID}
POINTER = t("group.private_only")
ROSTER = list(csv.DictReader(io.StringIO(SMALL_ROSTER)))
ROLE_OF = {row["member_id"]: row["role"] for row in ROSTER}
REASON = "家中有事"


def link(h: Harness) -> list[tuple[str, str]]:
    """The pointer's one button: the private chat, opened with a plain /start."""
    return [(t("group.open_private"), f"https://t.me/{h.sandbox.bot_username}?start")]


def bot_commands(h: Harness) -> list[str]:
    """Every command the running bot has a handler for (the registry's and the others)."""
    names = {
        name for handlers in h.app.handlers.values() for handler in handlers
        if isinstance(handler, CommandHandler) for name in handler.commands
    }
    assert {*all_commands(), "chatid", "excuse"} <= names
    return sorted(names)


def group_help(h: Harness, hr: bool) -> str:
    lines = [t("group.help_header"),
             t("help.line", command="help", description=t("group.help_help"))]
    if hr:
        lines.append(t("help.line", command="chatid", description=t("group.help_chatid")))
    lines.append(t("group.help_footer", bot=h.sandbox.bot_username))
    return "\n".join(lines)


def expected(h: Harness, member_id: str, command: str, chat_id: int) -> tuple[str, list]:
    """(text, buttons) a member's command gets in a group."""
    hr = ROLE_OF[member_id] == "hr"
    if command == "help":
        return group_help(h, hr), []
    if command == "chatid" and hr:
        return t("chatid.this_chat", chat_id=chat_id), []
    return POINTER, link(h)


def leaks(entry: Entry, sender: str) -> list[str]:
    """Anything personal in a bot message: a file, a photo, a name (but the sender's), a
    school."""
    found = [f"a {entry.media_type}"] if entry.media_type is not None else []
    found += [
        word for row in ROSTER if row["member_id"] != sender
        for word in (row["name"], row["school"]) if word and word in entry.text
    ]
    return found


def answers(group: SandboxGroup) -> list[tuple[str, list]]:
    return [(e.text, e.buttons) for e in group.messages()]


@pytest.mark.parametrize("kind", CHATS)
@pytest.mark.parametrize("member_id", ["T1", "L1", "H1"])
async def test_every_command_in_a_group_gets_only_the_pointer(
    tmp_path: Path, member_id: str, kind: str
) -> None:
    async with running_bot(tmp_path) as h:
        group = h.sandbox.group(CHATS[kind], "教研交流群")
        user = await h.register(member_id)
        await import_schedule(h, *SCHEDULE)
        stranger = h.new_user("陌生人")
        exited = await h.register("T3")
        async with h.services.db.tx() as conn:
            await conn.execute("UPDATE members SET active = 0 WHERE member_id = 'T3'")
        await h.flush()
        private_before = len(user.messages())
        before = await snapshot(h)
        wanted = []
        for command in bot_commands(h):
            for text in (f"/{command}", f"/{command}@{h.sandbox.bot_username} G1 2026-03"):
                answer = await group.ask(user, text)
                want = expected(h, member_id, command, group.id)
                assert (answer.text, answer.buttons) == want, text
                wanted.append(want)
        # Strangers, a deactivated member, other bots' commands, unknown commands: nothing.
        for who, text in ((stranger, "/help"), (stranger, "/me"), (stranger, "/chatid"),
                          (exited, "/help"), (exited, "/me"), (exited, "/start"),
                          (user, "/me@another_bot"), (user, "/help@another_bot"),
                          (user, "/nosuchcommand"), (user, "/ranking@another_bot")):
            await group.send(who, text)
        await h.flush()
        await settled(h)
        assert answers(group) == wanted
        assert [leaks(e, member_id) for e in group.messages() if leaks(e, member_id)] == []
        assert len(user.messages()) == private_before  # and nothing instead in private
        assert stranger.messages() == []
        assert differences(before, await snapshot(h)) == []


async def test_buttons_pressed_in_a_group_only_raise_an_alert(tmp_path: Path) -> None:
    """Every button shown in anyone's private chat (real ids of pending requests, reviews,
    proposals, rolls, members, reports), and every prefix and action with a forged id, pressed
    in a group and a supergroup by a trainee, a leader and HR: the alert, nothing else."""
    async with running_bot(tmp_path, reading={"review": "required"}) as h:
        users = await build_state(h, tmp_path)
        harvested = sorted({b.data for m in PEOPLE for b in buttons_of(m, users[m])})
        forged = [f"{prefix}:{action}:999999" for prefix, actions in sorted(CALLBACKS.items())
                  for action in actions]
        assert {d.split(":")[0] for d in harvested} >= {"adm", "ann", "att", "leave", "rd",
                                                         "rep", "sch", "exit", "cr"}
        before = await snapshot(h)
        groups = [h.sandbox.group(chat_id, kind) for kind, chat_id in CHATS.items()]
        problems: list[str] = []
        for group in groups:
            for member_id in ("T1", "L1", "H1"):
                user = users[member_id]
                home = await group.ask(user, "/help")
                for data in [*harvested, *forged]:
                    answer = await user.press_data(home, data)
                    if answer != (POINTER, True):
                        problems.append(f"{member_id} in {group.title}: {data}: {answer}")
                assert home.edits == 0 and home.buttons == []
        await h.flush()
        assert problems == [], "\n".join(problems)
        assert differences(before, await snapshot(h)) == []
        for group in groups:
            assert answers(group) == [(group_help(h, m == "H1"), []) for m in ("T1", "L1", "H1")]


async def test_the_hr_chat_gets_its_cards_and_decides_them_and_nothing_else(
    tmp_path: Path
) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": SUPERGROUP_ID}) as h:
        hr_chat = h.sandbox.group(SUPERGROUP_ID, "人事科")
        await import_schedule(h, *SCHEDULE)
        hr, leader = await h.register("H1"), await h.register("L1")
        trainee = await h.register("T1")
        await leave_request(h, trainee, "C1", REASON)  # a collective activity: HR decides
        card = await hr_chat.next_message(predicate=lambda e: said(e.text, "leave.msg.new"))
        assert card.button_texts == DECIDE
        approve = dict((text, data) for text, data in card.buttons)[DECIDE[0]]
        before = await snapshot(h)
        # Data that is not on the card: whatever it names, the alert.
        for data in ("adm:grps", "lang:set:en", "cr:hm:all", approve.replace(":1", ":2"),
                     "leave:no:1:x", "exit:ask:1"):
            assert await hr.press_data(card, data) == (POINTER, True), data
        assert card.edits == 0 and differences(before, await snapshot(h)) == []
        # Commands: the pointer, but /help, /chatid (and HR's /digest, below).
        for text in ("/leaves", "/admin", "/export", "/digest@" + h.sandbox.bot_username):
            asker = leader if text.startswith("/digest") else hr
            assert (await hr_chat.ask(asker, text)).text == POINTER, text
        assert (await hr_chat.ask(hr, "/help")).text == group_help(h, True)
        here = t("chatid.this_chat", chat_id=SUPERGROUP_ID) + "\n" + t("chatid.is_hr_chat")
        assert (await hr_chat.ask(hr, "/chatid")).text == here
        assert (await hr_chat.ask(leader, "/chatid")).buttons == link(h)
        assert (await hr.ask("/chatid")).text == t("chatid.in_group")
        # The card's own button still decides it, in the group.
        assert (await hr.press(card, DECIDE[0])).text == t("leave.decide.done_approved")
        shown = await edited(h, card)
        assert said(shown.text, "leave.outcome.approved") and shown.buttons == []
        await h.flush()
        texts = [e.text for e in hr_chat.messages()]
        assert texts == [shown.text, POINTER, POINTER, POINTER, POINTER, group_help(h, True),
                         here, POINTER]
        assert all(e.media_type is None for e in hr_chat.messages())
        # HR's digest on demand is posted where the daily one goes.
        assert said((await hr_chat.ask(hr, "/digest")).text, "digest.title.hr")


@pytest.mark.parametrize("kind", CHATS)
async def test_a_group_never_touches_a_private_dialog(tmp_path: Path, kind: str) -> None:
    """Free text, a photo, a document, a location in a group: nothing; /cancel and /leave there
    get the pointer and leave the private question where it was."""
    async with running_bot(tmp_path) as h:
        group = h.sandbox.group(CHATS[kind], "教研交流群")
        await import_schedule(h, *SCHEDULE)
        user: SandboxUser = await h.register("T1")
        assert said((await user.ask("/leave G1")).text, "leave.ask.reason")
        private_before = len(user.messages())
        await group.send(user, REASON)
        await user.send_photo(b"\xff\xd8\xff\xe0 photo", caption=REASON, chat=group)
        await user.send_document(b"%PDF-1.4", "请假条.pdf", mime_type="application/pdf",
                                 chat=group)
        await user.send_location(34.75, 113.62, chat=group)
        for text in ("/cancel", "/leave G1", f"/cancel@{h.sandbox.bot_username}"):
            assert (await group.ask(user, text)).text == POINTER
        await h.flush()
        await settled(h)
        assert answers(group) == [(POINTER, link(h))] * 3
        assert len(user.messages()) == private_before
        confirm = await user.ask(REASON)  # the question the group did not touch
        assert said(confirm.text, "leave.ask.confirm") and REASON in confirm.text
