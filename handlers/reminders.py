"""Reminders: the activity reminders' due check, /mute and /unmute for trainees, HR's /digest.

The timing rules are in bot.reminders.rules (pure); the digests in bot.reminders.digest (imported
here so its due checks are registered when the app is built).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities.scheduling import activity_card, lang_of
from bot.core import callbacks, commands
from bot.core.i18n import t
from bot.core.services import Services, StudyContext
from bot.delivery import notify
from bot.reminders import digest as digest_mod
from bot.reminders import rules
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import reminders as repo
from storage.db import parse_ts, ts
from storage.models import Member, Role
from storage.reminders import Candidate

PREFIX = "rem"
MUTE_CHOICES: tuple[int, ...] = (1, 3, 7, 14)
PARTICIPANTS: frozenset[Role] = frozenset({"trainee", "leader"})


# -- activity reminders ----------------------------------------------------------------------


async def activity_reminders_due(services: Services, now: dt.datetime) -> int:
    """The day-before and minutes-before reminders of every activity (bot.reminders.rules decides
    when); each (activity, kind, start) is dealt with once, in the transaction that queues it."""
    cfg = services.config
    r = digest_mod.reminder_rules(cfg)
    tz = cfg.tz
    local_now = now.astimezone(tz)
    async with services.db.read() as conn:
        candidates = await repo.reminder_candidates(
            conn, ts(now), ts(now + rules.lookahead(r))
        )
    queued = 0
    for c in candidates:
        start = parse_ts(c.start_at).astimezone(tz)
        end = parse_ts(c.end_at).astimezone(tz)
        changed = parse_ts(c.changed_at).astimezone(tz)
        for kind in rules.REMINDER_KINDS:
            if kind in c.done:
                continue
            verdict = rules.verdict(kind, local_now, start, end, changed, r)
            if verdict == "send":
                queued += await _remind(services, c, kind, local_now)
            elif verdict == "drop":
                async with services.db.tx() as conn:
                    await repo.mark_reminder(conn, c.pk, kind, c.start_at, ts(now), 0)
    return queued


async def _remind(services: Services, c: Candidate, kind: rules.ReminderKind,
                  now: dt.datetime) -> int:
    cfg = services.config
    tz = cfg.tz
    now_s = ts(now)
    start = parse_ts(c.start_at).astimezone(tz)
    queued = 0
    async with services.db.tx() as conn:
        if not await repo.mark_reminder(conn, c.pk, kind, c.start_at, now_s, 0):
            return 0
        activity = await activities_repo.by_pk(conn, c.pk)
        if activity is None:
            return 0
        people = await activities_repo.participants(conn, activity)
        skip = (
            await attendance_repo.excused_member_pks(conn, c.pk)
            | await attendance_repo.recorded_member_pks(conn, c.pk)
            | await repo.muted_on(conn, start.date(), (m.pk for m in people))
        )
        text_key = f"reminders.{kind}" if kind == "day_before" or now < start else (
            "reminders.started")
        period = f"{c.pk}@{start:%Y%m%d%H%M}"
        for member in people:
            if member.pk in skip:
                continue
            lang = lang_of(member, cfg)
            card = activity_card(lang, activity, tz)
            if activity.host_pk == member.pk:
                card += "\n" + t(lang, "attendance.notice.you_host")
            row = await notify.to_member(
                conn, cfg, member, text_key, now=now_s, kind=f"remind.{kind}",
                dedupe_key=rules.dedupe_key("remind", kind, period, member.pk),
                card=card, time=start.strftime("%H:%M"), minutes=cfg.reminders.minutes_before,
            )
            queued += row is not None
        await repo.set_queued(conn, c.pk, kind, c.start_at, queued)
    return queued


# -- /mute and /unmute -----------------------------------------------------------------------


def _today(services: Services) -> dt.date:
    return services.now().date()


def _ranges_text(context: StudyContext, ranges: list[rules.DayRange]) -> str:
    return context.t("reminders.mute.sep").join(
        context.t("reminders.mute.range", start=r.start.isoformat(), end=r.end.isoformat())
        if r.days > 1 else r.start.isoformat()
        for r in ranges
    )


def _choices(context: StudyContext, with_unmute: bool) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(
            context.t("reminders.mute.today") if days == 1
            else context.t("reminders.mute.days", n=days),
            callback_data=callbacks.encode(PREFIX, "mute", days),
        )
        for days in MUTE_CHOICES
    ]
    rows = [row]
    if with_unmute:
        rows.append([InlineKeyboardButton(context.t("reminders.mute.unmute_button"),
                                          callback_data=callbacks.encode(PREFIX, "unmute"))])
    return InlineKeyboardMarkup(rows)


async def _current(services: Services, member: Member) -> list[rules.DayRange]:
    async with services.db.read() as conn:
        mutes = await repo.mutes_of(conn, member.pk, ending_on_or_after=_today(services))
    return [rules.DayRange(m.start, m.end) for m in mutes]


async def _mute(services: Services, member: Member, new: rules.DayRange) -> list[rules.DayRange]:
    """Adds a range (merged with the others); returns the ranges from today on."""
    today = _today(services)
    async with services.db.tx() as conn:
        existing = [rules.DayRange(m.start, m.end) for m in await repo.mutes_of(conn, member.pk)]
        merged = rules.merge([*existing, new])
        await repo.replace_mutes(conn, member.pk, [(r.start, r.end) for r in merged],
                                 services.now_ts())
    return rules.active_or_future(merged, today)


async def _unmute(services: Services, member: Member) -> bool:
    """Frees today and later; False when nothing was muted from today on."""
    today = _today(services)
    async with services.db.tx() as conn:
        existing = [rules.DayRange(m.start, m.end) for m in await repo.mutes_of(conn, member.pk)]
        if not rules.active_or_future(existing, today):
            return False
        left = rules.unmute(existing, today)
        await repo.replace_mutes(conn, member.pk, [(r.start, r.end) for r in left],
                                 services.now_ts())
    return True


def _participant(context: StudyContext) -> Member | None:
    member = context.member
    if member is None or member.role not in PARTICIPANTS:
        return None
    return member


async def mute_command(update: Update, context: StudyContext) -> None:
    """/mute [from to | day | N]: pauses reminders for those days; without arguments, buttons."""
    message = update.effective_message
    assert message is not None
    member = _participant(context)
    if member is None:
        await message.reply_text(context.t("reminders.mute.only_participants"))
        return
    services = context.services
    if not context.args:
        current = await _current(services, member)
        text = (context.t("reminders.mute.current", ranges=_ranges_text(context, current))
                if current else context.t("reminders.mute.none"))
        await message.reply_text(
            text + "\n" + context.t("reminders.mute.choose"),
            reply_markup=_choices(context, bool(current)),
        )
        return
    parsed = rules.parse_mute(context.args, _today(services))
    if isinstance(parsed, str):
        await message.reply_text(context.t(f"reminders.mute.bad_{parsed}",
                                           max=rules.MAX_MUTE_DAYS,
                                           today=_today(services).isoformat()))
        return
    ranges = await _mute(services, member, parsed)
    await message.reply_text(_muted_text(context, parsed, ranges))


def _muted_text(context: StudyContext, new: rules.DayRange, ranges: list[rules.DayRange]) -> str:
    return context.t("reminders.mute.done", range=_ranges_text(context, [new]),
                     ranges=_ranges_text(context, ranges))


async def unmute_command(update: Update, context: StudyContext) -> None:
    """/unmute: reminders again from today."""
    message = update.effective_message
    assert message is not None
    member = _participant(context)
    if member is None:
        await message.reply_text(context.t("reminders.mute.only_participants"))
        return
    done = await _unmute(context.services, member)
    await message.reply_text(context.t("reminders.unmute.done" if done else "reminders.mute.none"))


async def on_button(update: Update, context: StudyContext) -> None:
    """The /mute buttons: mute N days from today, or unmute. Only for oneself."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = _participant(context)
    days = cb.int_arg() if cb is not None else None
    if cb is None or member is None or not (
        (cb.action == "mute" and days in MUTE_CHOICES) or cb.action == "unmute"
    ):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await query.answer()
    services = context.services
    if cb.action == "unmute":
        done = await _unmute(services, member)
        text = context.t("reminders.unmute.done" if done else "reminders.mute.none")
    else:
        assert days is not None
        today = _today(services)
        new = rules.DayRange(today, today + dt.timedelta(days=days - 1))
        text = _muted_text(context, new, await _mute(services, member, new))
    await query.edit_message_text(text)


# -- /digest ---------------------------------------------------------------------------------


async def digest_command(update: Update, context: StudyContext) -> None:
    """/digest (HR): today's digest now, to the asker; the scheduled one is not affected."""
    message = update.effective_message
    member = context.member
    assert message is not None
    if member is None or not member.is_hr:
        await message.reply_text(context.t("digest.hr_only"))
        return
    result = await digest_mod.hr_now(context.services, context.lang)
    for text in result.texts:
        await message.reply_text(text)
    if result.chart is not None:
        await message.reply_photo(result.chart, caption=result.caption)


commands.register("mute", roles=PARTICIPANTS, order=70)
commands.register("unmute", roles=PARTICIPANTS, order=71)
commands.register("digest", roles=frozenset({"hr"}), order=63)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("mute", mute_command, filters=private))
    app.add_handler(CommandHandler("unmute", unmute_command, filters=private))
    # The digest is for HR's eyes: in a private chat, or in the HR chat when one is configured.
    hr_chat = app.bot_data["config"].program.hr_chat_id
    where = private | filters.Chat(hr_chat) if hr_chat is not None else private
    app.add_handler(CommandHandler("digest", digest_command, filters=where))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
