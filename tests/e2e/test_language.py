"""/lang switches a member's language; messages and the command menu follow."""

from __future__ import annotations

from pathlib import Path

from storage import members as members_repo
from tests.helpers import running_bot, said, text_of


async def test_lang_switches_to_english_and_back(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        menu = await user.ask("/lang")
        assert said(menu.text, "language.choose", current=text_of("language.name"))
        await user.press(menu, "English")
        edited = await h.sandbox.wait_for_bot_message(
            user.chat_id, lambda e: said(
                e.text, "language.set", "en", language=text_of("language.name", "en")
            ),
            after=menu.message_id - 1,
        )
        assert edited.message_id == menu.message_id
        assert said((await user.ask("/me")).text, "me.card", "en", name="黄志强")
        menu_en = dict(h.sandbox.commands_for(user.chat_id))
        assert menu_en["me"] == "my profile"
        async with h.services.db.read() as conn:
            member = await members_repo.by_telegram_id(conn, user.id)
        assert member is not None and member.language == "en"
        again = await user.ask("/lang")
        await user.press(again, "中文")
        await h.sandbox.wait_for_bot_message(
            user.chat_id, lambda e: said(e.text, "language.set", language=text_of("language.name")),
            after=again.message_id - 1,
        )
        assert said((await user.ask("/me")).text, "me.card", name="黄志强")


async def test_forged_language_button_changes_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        menu = await user.ask("/lang")
        answer = await user.press_data(menu, "lang:set:fr")
        assert answer.show_alert
        async with h.services.db.read() as conn:
            member = await members_repo.by_telegram_id(conn, user.id)
        assert member is not None and member.language == "zh"
