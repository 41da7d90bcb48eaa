"""Registration: /start with a deep-link code, /start then a typed code, and /start again."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.core import commands
from bot.core.i18n import t
from bot.core.services import StudyContext
from bot.members.registration import Redemption, looks_like_code, redeem
from handlers.replies import reply
from storage.models import Member

log = logging.getLogger(__name__)


def role_name(lang: str, member: Member) -> str:
    """The member's role in `lang` (shared with /help, /me)."""
    return t(lang, f"role.{member.role}")


def group_name(lang: str, member: Member) -> str:
    """The member's group, or a "no group" word in `lang`."""
    return member.group_name or t(lang, "register.no_group")


async def set_commands(context: StudyContext, member: Member, chat_id: int) -> None:
    """The chat's command menu, by role (best effort: registration already succeeded)."""
    lang = member.language or context.lang
    cmds = [BotCommand(name, desc) for name, desc in commands.describe(member.role, lang)]
    try:
        await context.bot.set_my_commands(cmds, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("setMyCommands for chat %s failed: %s", chat_id, exc)


async def start(update: Update, context: StudyContext) -> None:
    """/start [code]: registers with the code, or shows a registered user their status."""
    if context.args and context.args[0].startswith("ci_"):
        # A check-in QR (https://t.me/<bot>?start=ci_<token>), not an invite code.
        from handlers.attendance import start_checkin_link

        await start_checkin_link(update, context, context.args[0])
        return
    member = context.member
    if member is not None:
        await reply(
            update,
            context.t(
                "register.already", name=member.name, role=role_name(context.lang, member),
                group=group_name(context.lang, member),
            )
        )
        return
    if not context.args:
        await reply(
            update,
            context.t("register.how_to", program=context.services.config.program.name)
            + "\n\n"
            + context.t("register.ask_code")
        )
        return
    await _try_code(update, context, context.args[0])


async def typed_code(update: Update, context: StudyContext) -> None:
    """A code typed by an unregistered user (after /start, or straight away)."""
    message = update.effective_message
    if context.member is not None or message is None or not message.text:
        return
    if looks_like_code(message.text):
        await _try_code(update, context, message.text.strip())


async def _try_code(update: Update, context: StudyContext, code: str) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    services = context.services
    result: Redemption = await redeem(
        services.db, services.config, code, user.id, context.lang, services.now()
    )
    if result.outcome == "ok":
        services.sender.notify()
        member = result.member
        assert member is not None
        context.member = member
        context.lang = member.language or context.lang
        await reply(
            update,
            context.t(
                "register.welcome", name=member.name, role=role_name(context.lang, member),
                group=group_name(context.lang, member),
            )
        )
        await set_commands(context, member, message.chat_id)
    elif result.outcome == "too_many":
        assert result.retry_at is not None
        until = result.retry_at.astimezone(services.clock.tz).strftime("%H:%M")
        await reply(update, context.t("register.too_many", until=until))
    elif result.outcome == "used":
        await reply(update, context.t("register.used_code"))
    else:
        await reply(update, context.t("register.wrong_code", left=result.tries_left))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, typed_code),
        group=1,
    )
