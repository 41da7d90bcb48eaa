"""/chatid: tells HR the id of a group, so they can set `[program] hr_chat_id` to it.

In a group the gatekeeper answers it (it answers every command there, so that nothing of a
private dialog runs from a group): `in_group` gives an HR member the id and the pointer line to
anyone else. Sent in the private chat, it says to send it in the group instead. Not in the
command registry: it means nothing in a private chat, so no private menu or /help lists it;
the group's /help does (for HR).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.core.services import StudyContext
from handlers.replies import chat_id, reply


async def in_group(update: Update, context: StudyContext) -> bool:
    """The group's id for an HR member (True); anyone else gets nothing here (False: the
    gatekeeper answers with its pointer line)."""
    member = context.member
    if member is None or not member.is_hr:
        return False
    here = chat_id(update)
    lines = [context.t("chatid.this_chat", chat_id=here)]
    if here == context.services.config.program.hr_chat_id:
        lines.append(context.t("chatid.is_hr_chat"))
    await reply(update, "\n".join(lines))
    return True


async def in_private(update: Update, context: StudyContext) -> None:
    """/chatid in the private chat: the id wanted is a group's."""
    await reply(update, context.t("chatid.in_group"))


def register(app: Application) -> None:
    # Groups never get here (the gatekeeper answers there); the filter says so all the same.
    app.add_handler(CommandHandler("chatid", in_private, filters=filters.ChatType.PRIVATE))
