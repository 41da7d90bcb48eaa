"""Issue 15 ("Trust") through the sandbox: forged over-long ids, short throttled error reports
to HR, an answer for unknown commands and unusable messages, file names that cannot pose as
something else, and owner-only files whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.core import callbacks
from tests.e2e.test_reading import DOCX_MIME, load_books, pick_book, subs_of
from tests.helpers import Harness, boom, running_bot, said, settled, text_of

HR_CHAT = -100777
FORGED = text_of("error.forged")
TOO_BIG = "99999999999999999999"  # past 2**63: SQLite cannot bind it


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual login umask, under which plain open() makes files readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# -- numbers in callback data --------------------------------------------------------------------


@pytest.mark.parametrize("text", [TOO_BIG, "-" + TOO_BIG, str(2**63), "1_000", " 7", "+7", "٧"])
def test_callback_numbers_outside_sqlite_or_not_ascii_digits_are_none(text: str) -> None:
    assert callbacks.number(text) is None
    assert callbacks.Callback("leave", "ok", (text,)).int_arg(0) is None


@pytest.mark.parametrize("value", [0, 7, 2**63 - 1, -(2**63)])
def test_callback_numbers_in_range_round_trip(value: int) -> None:
    cb = callbacks.decode(callbacks.encode("leave", "ok", value))
    assert cb is not None and cb.int_arg(0) == value


async def test_forged_over_long_ids_get_the_forged_alert_and_hr_at_most_one_line(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": HR_CHAT}) as h:
        hr_chat = h.sandbox.group(HR_CHAT, "人事科")
        user = await h.register("T1")
        own = await user.ask("/me")
        for data in (f"leave:ok:{TOO_BIG}", f"leave:no:{TOO_BIG}", f"leave:wd:{TOO_BIG}",
                     f"rep:open:{TOO_BIG}", f"rep:rec:{TOO_BIG}"):
            answer = await user.press_data(own, data)
            assert answer.show_alert and answer.text == FORGED, data
        await settled(h)
        reports = hr_chat.messages()
        assert len(reports) <= 1, [r.text for r in reports]
        for report in reports:
            assert "\n" not in (report.text or "") and "Traceback" not in (report.text or "")


# -- error reports to HR ---------------------------------------------------------------------------


async def test_error_reports_to_hr_are_one_line_and_throttled_with_the_repeats(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": HR_CHAT}) as h:
        h.app.add_handler(CommandHandler("boom", boom))
        hr_chat = h.sandbox.group(HR_CHAT, "人事科")
        user = await h.register("T1")
        for _ in range(3):
            assert said((await user.ask("/boom")).text, "error.apology")
            await settled(h)
        report = await hr_chat.next_message()
        assert len(hr_chat.messages()) == 1
        assert said(report.text, "error.report_line", error="RuntimeError: kaboom in a handler")
        assert "\n" not in (report.text or "") and "Traceback" not in (report.text or "")
        assert h.sandbox.token not in (report.text or "")
        # An hour later the same failure is reported again, with how often it recurred.
        h.clock.advance(minutes=61)
        assert said((await user.ask("/boom")).text, "error.apology")
        again = await hr_chat.next_message()
        assert said(again.text, "error.report_repeated", repeats=2)
        assert "\n" not in (again.text or "")


# -- what the bot cannot use -----------------------------------------------------------------------


async def test_unknown_commands_and_unusable_messages_get_a_pointer_to_help(h: Harness) -> None:
    user = await h.register("T1")
    assert said((await user.ask("/foo")).text, "dialog.unknown_command", command="/foo")
    assert said((await user.ask("/startt x")).text, "dialog.unknown_command", command="/startt")
    for send in (user.send_sticker(), user.send_voice(), user.send_contact("+8613800000000", "王")):
        sent = await send
        reply = await user.next_message()
        assert reply.message_id > sent.message_id
        assert said(reply.text, "dialog.unusable"), reply.text
    # Someone not registered yet is told how to register.
    stranger = h.new_user("陌生人")
    assert said((await stranger.ask("/startt x")).text, "register.how_to")
    # The known commands still work, and a dialog still takes its input.
    assert "黄志强" in (await user.ask("/me")).text


async def test_groups_stay_silent_on_unknown_commands_and_stickers(h: Harness) -> None:
    user = await h.register("T1")
    group = h.sandbox.group(-100555, "第一组群")
    await group.send(user, "/foo")
    await user.send_sticker(chat=group)
    await user.send_voice(chat=group)
    await settled(h)
    assert group.messages() == []


# -- file names and files --------------------------------------------------------------------------


@pytest.fixture
async def books(h: Harness) -> Harness:
    await load_books(h)
    return h


async def test_file_names_lose_format_characters_and_uploads_are_owner_only(
    books: Harness, umask_022: None,
) -> None:
    h = books
    t1 = await h.register("T1")
    l1 = await h.register("L1")
    await pick_book(t1, "革命", "《静悄悄的革命》佐藤学")
    await t1.ask("2026-02-28")
    await t1.send_document(b"PK\x03\x04 docx", "\u202e\u200bxcod.exe.docx", mime_type=DOCX_MIME)
    assert said((await t1.next_message()).text, "reading.read.saved")
    [sub] = await subs_of(h, "T1")
    assert sub.file is not None and sub.file.name == "xcod.exe.docx"
    mine = await l1.ask("/reading")
    await l1.press(mine, "📋 本组读书情况")
    table = await l1.next_message()
    await l1.press(table, "黄志强")
    detail = await l1.next_message()
    await l1.press(detail, "查看 1")
    opened = await l1.next_message()
    assert opened.file_name == "xcod.exe.docx"
    for person in (t1, l1):
        for entry in person.messages():
            assert not any(ch in (entry.text or "") for ch in "\u202e\u200b"), entry.text
    # The upload, its folders and the database are the bot's account's alone.
    stored = h.config.files_dir / sub.file.path
    assert mode(stored) == 0o600
    for folder in (stored.parent, h.config.files_dir):
        assert mode(folder) == 0o700, folder
    for suffix in ("", "-wal", "-shm"):
        assert mode(Path(str(h.config.db_path) + suffix)) == 0o600, suffix
