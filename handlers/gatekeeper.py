"""The gatekeeper (handler group -2, the first): loads the sender's member record once per update,
and keeps everything personal out of group chats.

Unregistered users reach only the registration handlers; everything else they send gets the
how-to-register answer. Deactivated members are told so. In a group or supergroup strangers and
deactivated members are never answered, and for a registered member nothing personal or
administrative is: a command gets one line saying it works in the private chat, with a button
that opens it; /help and /chatid are answered here (what works in a group, the chat's id for
HR); a button gets an alert, except a card the bot posted in the HR chat (`[program]
hr_chat_id`), which its feature decides; free input is ignored. Nothing after the gatekeeper
runs for a group message, so no private dialog is started, advanced or ended from a group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, TypeHandler

from bot.core.services import StudyContext, member_language
from bot.members.registration import looks_like_code
from handlers import chatid, profile
from handlers.replies import forged, reply
from storage import members as members_repo

# The commands answered in a group, here: each answers and says so, or leaves it to the
# pointer line (False).
GROUP_COMMANDS: dict[str, Callable[[Update, StudyContext], Awaitable[bool]]] = {
    "help": profile.help_in_group,
    "chatid": chatid.in_group,
}


async def gatekeeper(update: Update, context: StudyContext) -> None:
    """Loads the member; stops updates from people who may not use the bot, and anything
    personal in a group chat."""
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
    chat = update.effective_chat
    private = chat is not None and chat.type == Chat.PRIVATE
    if member is not None and member.active:
        if chat is not None and not private:
            await in_group(update, context, chat)
        return
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


async def in_group(update: Update, context: StudyContext, chat: Chat) -> None:
    """A registered member's update in a group: answered here and stopped, or (a press on the
    HR chat's own cards) left to the feature."""
    query = update.callback_query
    if query is not None:
        if _hr_chat_card(context, chat, query):
            return  # the feature authorises the presser from the database, as in private
        await query.answer(context.t("group.private_only"), show_alert=True)
        raise ApplicationHandlerStop
    message = update.message  # an edit, a join, a pinned message ...: nothing to answer
    name = _command(message, context.bot.username) if message is not None else None
    if name is None or not _known(context.application, name):
        raise ApplicationHandlerStop  # free input, or another bot's command
    if name == "digest" and _hr_in_hr_chat(context, chat):
        return  # HR's digest on demand, where the daily one is posted (handlers/reminders.py)
    answer = GROUP_COMMANDS.get(name)
    if answer is None or not await answer(update, context):
        await pointer(update, context)
    raise ApplicationHandlerStop


def _hr_in_hr_chat(context: StudyContext, chat: Chat) -> bool:
    member = context.member
    hr_chat = context.services.config.program.hr_chat_id
    return member is not None and member.is_hr and hr_chat is not None and chat.id == hr_chat


def _hr_chat_card(context: StudyContext, chat: Chat, query: CallbackQuery) -> bool:
    """A press in the HR chat of a button the pressed message really has: the cards the bot
    posts there (leave requests, exit proposals, reading reviews) are decided in that chat.
    Data not on the message is crafted, and would let a feature write a private card over
    a message everyone in the group reads."""
    if chat.id != context.services.config.program.hr_chat_id:
        return False
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard for button in row
    )


def _command(message: Message, bot_username: str) -> str | None:
    """The command a message starts with, as CommandHandler reads it (`/name` or
    `/name@this_bot`); None for anything else, or a command addressed to another bot."""
    entities = message.entities
    if not message.text or not entities:
        return None
    first = entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    name, _, addressee = message.parse_entity(first)[1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower()


def _known(app: Application, name: str) -> bool:
    """Whether the bot has this command (read from the registered handlers, so a command added
    anywhere is known, and a stranger's `/whatever` meant for another bot is not answered)."""
    if name in GROUP_COMMANDS:
        return True
    return any(
        isinstance(handler, CommandHandler) and name in handler.commands
        for handlers in app.handlers.values() for handler in handlers
    )


def private_chat_button(context: StudyContext) -> InlineKeyboardMarkup | None:
    """A button opening the private chat with the bot (a plain /start there: a registered
    member is told they are registered, nobody's code attempts are counted)."""
    username = context.services.bot_username.lstrip("@")
    if not username:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        context.t("group.open_private"), url=f"https://t.me/{username}?start"
    )]])


async def pointer(update: Update, context: StudyContext) -> None:
    """The one line a group gets for anything that belongs in a private chat."""
    await reply(update, context.t("group.private_only"), reply_markup=private_chat_button(context))


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, gatekeeper), group=-2)
