"""The gatekeeper (handler group -2, the first): loads the sender's member record once per update.

Unregistered users reach only the registration handlers; everything else they send gets the
how-to-register answer. Deactivated members are told so.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.core.services import StudyContext, member_language
from bot.members.registration import looks_like_code
from handlers.replies import forged
from storage import members as members_repo


async def gatekeeper(update: Update, context: StudyContext) -> None:
    """Loads the member; stops updates from people who may not use the bot."""
    user = update.effective_user
    if user is None:
        raise ApplicationHandlerStop
    services = context.services
    # One statement: the lock-free reader (the role and active flag as last committed).
    async with services.db.reader() as conn:
        member = await members_repo.by_telegram_id(conn, user.id)
    context.member = member
    if member is not None:
        context.lang = member_language(member, services)
    else:
        context.lang = services.default_language
    if member is not None and member.active:
        return
    chat = update.effective_chat
    private = chat is not None and chat.type == "private"
    if update.callback_query is not None:
        await forged(update, context)
        raise ApplicationHandlerStop
    if not private:
        raise ApplicationHandlerStop  # never answer strangers in group chats
    message = update.effective_message
    if member is not None:  # deactivated
        if message is not None:
            await message.reply_text(context.t("register.inactive"))
        raise ApplicationHandlerStop
    text = (message.text or "").strip() if message is not None else ""
    if text.startswith("/start") or (text and looks_like_code(text)):
        return  # handled by handlers.start
    if message is not None:
        await message.reply_text(
            context.t("register.how_to", program=services.config.program.name)
        )
    raise ApplicationHandlerStop


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, gatekeeper), group=-2)
