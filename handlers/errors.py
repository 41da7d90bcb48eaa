"""The one error handler: log with the update id, apologise to the user, tell the HR chat."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.core.i18n import t
from bot.core.services import Services, StudyContext, member_language
from bot.core.text import split_message
from handlers.replies import forged
from storage import members as members_repo

log = logging.getLogger(__name__)


async def on_error(update: object, context: StudyContext) -> None:
    """Logs the failure (never the token), apologises, reports to `hr_chat_id` when set."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    log.error("error while handling update %s", update_id, exc_info=error)
    services = context.application.bot_data.get("services")
    if isinstance(update, Update):
        lang = await _language(update, services)
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(t(lang, "error.apology"), show_alert=True)
            elif update.effective_message is not None and update.effective_chat is not None:
                if update.effective_chat.type == "private":
                    await update.effective_message.reply_text(t(lang, "error.apology"))
        except TelegramError:
            log.warning("could not apologise for update %s", update_id)
    if services is None or services.config.program.hr_chat_id is None or error is None:
        return
    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    token = services.config.telegram.token
    if token:
        tb = tb.replace(token, "<token>")
    text = t(services.default_language, "error.report", update_id=update_id, error=tb)
    for part in split_message(text):
        try:
            await context.bot.send_message(services.config.program.hr_chat_id, part)
        except TelegramError:
            log.warning("could not report update %s to the HR chat", update_id)
            break


async def _language(update: Update, services: Services | None) -> str:
    """The user's language (the error handler gets a fresh context, without the member)."""
    if services is None:
        return "zh"
    user = update.effective_user
    if user is not None:
        try:
            async with services.db.read() as conn:
                member = await members_repo.by_telegram_id(conn, user.id)
        except Exception:
            member = None
        return member_language(member, services)
    return services.default_language


async def unknown_button(update: Update, context: StudyContext) -> None:
    """A press whose data no feature recognises (forged or from an old version): answered, so
    the client's spinner stops, and nothing changes."""
    await forged(update, context)


def register(app: Application) -> None:
    # Registered last in group 0: runs only when no feature's button handler matched.
    app.add_handler(CallbackQueryHandler(unknown_button))
    app.add_error_handler(on_error)
