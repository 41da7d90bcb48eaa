"""The one error handler (log with the update id, apologise to the user, tell the HR chat) and
the fallbacks for what no feature handled: a button, a command, a kind of message.

The traceback goes to the log only. HR's group gets one short line per kind of failure (what
failed and the update id), at most once per `REPORT_EVERY` for the same failure, with how
many times it recurred since: a failure anyone can trigger (a forged button, a bug hit by every
press) must not flood the group or show it the code.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.core.i18n import t
from bot.core.logsafe import REDACTED
from bot.core.services import Services, StudyContext, member_language
from bot.core.text import clip
from handlers.replies import forged
from storage import members as members_repo

log = logging.getLogger(__name__)

REPORT_EVERY = dt.timedelta(hours=1)
# What of the error's own message HR sees: enough to recognise it, never a page.
WHAT_CHARS = 200
REPORTS_KEY = "error_reports"


@dataclass
class _Seen:
    """One kind of failure: when HR last heard of it and how often it recurred since."""

    reported_at: dt.datetime
    repeats: int = 0


@dataclass
class ErrorReports:
    """The throttle of HR's error reports, per kind of failure (the exception type and where
    it was raised), kept for the life of the process."""

    seen: dict[tuple[str, str], _Seen] = field(default_factory=dict)

    def admit(self, key: tuple[str, str], now: dt.datetime) -> int | None:
        """None when this failure was reported less than REPORT_EVERY ago (it is counted);
        else the repeats since the last report (0 the first time), and it is reported now."""
        last = self.seen.get(key)
        if last is not None and now - last.reported_at < REPORT_EVERY:
            last.repeats += 1
            return None
        self.seen[key] = _Seen(now)
        return last.repeats if last is not None else 0


def failure_key(error: BaseException) -> tuple[str, str]:
    """The exception type and the innermost frame it was raised in: the same bug hit with
    different data is one failure."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return type(error).__qualname__, where


def what_failed(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """One line: the exception type and the first line of its message, clipped, secrets
    redacted."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    for secret in secrets:
        if secret:
            message = message.replace(secret, REDACTED)
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return clip(text, WHAT_CHARS)


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
    reports = context.application.bot_data.setdefault(REPORTS_KEY, ErrorReports())
    repeats = reports.admit(failure_key(error), services.clock.now())
    if repeats is None:
        return
    token = services.config.telegram.token
    secrets = (token, token.split(":", 1)[-1]) if token else ()
    what = what_failed(error, secrets)
    lang = services.default_language
    text = (t(lang, "error.report_line", update_id=update_id, error=what) if not repeats
            else t(lang, "error.report_repeated", update_id=update_id, error=what,
                   repeats=repeats))
    try:
        await context.bot.send_message(services.config.program.hr_chat_id, text)
    except TelegramError:
        log.warning("could not report update %s to the HR chat", update_id)


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


# The fallbacks for messages run in a group of their own after every other, and only when no
# handler of groups 0 and up took the update: a handler added to group 0 later (a plugin, a
# test) is not shadowed by them, as it would be by a catch-all registered before it.
FALLBACK_GROUP = 99


def _taken(update: Update, context: StudyContext) -> bool:
    """Whether a handler of a group from 0 up to the fallbacks' took this update."""
    return any(
        handler.check_update(update) not in (None, False)
        for group, handlers in context.application.handlers.items()
        if 0 <= group < FALLBACK_GROUP
        for handler in handlers
    )


async def unknown_command(update: Update, context: StudyContext) -> None:
    """A command no feature knows (`/foo`, `/startt x`) in a private chat: the pointer to /help
    (to registering, for someone not registered yet), never silence."""
    message = update.effective_message
    assert message is not None
    if _taken(update, context):
        return
    if context.member is None:
        program = context.services.config.program.name
        await message.reply_text(context.t("register.how_to", program=program))
        return
    command = (message.text or "").split(maxsplit=1)[0]
    await message.reply_text(context.t("dialog.unknown_command", command=clip(command)))


async def unusable_message(update: Update, context: StudyContext) -> None:
    """A message of a kind no feature takes (a sticker, a voice message, a contact ...) in a
    private chat: says so and points to /help."""
    message = update.effective_message
    assert message is not None
    if _taken(update, context):
        return
    await message.reply_text(context.t("dialog.unusable"))


def register(app: Application) -> None:
    # Registered last in group 0: runs only when no feature's button handler matched.
    app.add_handler(CallbackQueryHandler(unknown_button))
    # Group chats get no answer from these (the gatekeeper decides what groups may use).
    private = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command),
                    group=FALLBACK_GROUP)
    app.add_handler(MessageHandler(
        private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, unusable_message
    ), group=FALLBACK_GROUP)
    app.add_error_handler(on_error)
