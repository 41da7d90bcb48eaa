"""/schedule (a leader creates, moves or cancels a group activity) and /upcoming (the user's
next activities with time, place, host and their own leave status).

Creating asks, one message at a time, for the title, the date and time, the duration and the
place, then proposes hosts in rotation order as buttons (the proposal first). Every change is
made by bot.activities.scheduling in one transaction with the group's notifications.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities import scheduling as activities
from bot.activities.rules import parse_duration, parse_local_datetime
from bot.activities.scheduling import activity_card, hosts_in_order, local
from bot.core import callbacks, commands, dialog
from bot.core.services import StudyContext
from handlers.attendance import markup, reply_long
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage.db import parse_ts, ts
from storage.models import Member

PREFIX = "sch"
FEATURE = "schedule"
UPCOMING_LIMIT = 10
DURATIONS = (60, 90, 120, 180)

commands.register("upcoming", order=14)
commands.register("schedule", roles=frozenset({"leader"}), order=15)


def _member(context: StudyContext) -> Member:
    member = context.member
    assert member is not None
    return member


# -- /upcoming ------------------------------------------------------------------------------


async def upcoming_command(update: Update, context: StudyContext) -> None:
    """/upcoming: the next activities the user takes part in (all of them, for HR)."""
    message = update.effective_message
    assert message is not None
    services = context.services
    member = _member(context)
    tz = services.clock.tz
    async with services.db.read() as conn:
        upcoming = await activities_repo.for_member(
            conn, member, end_after=services.now_ts(), limit=UPCOMING_LIMIT
        )
        pks = [a.pk for a in upcoming]
        records = await attendance_repo.for_member(conn, member.pk, pks)
        leave = await attendance_repo.leave_statuses(conn, member.pk, pks)
    if not upcoming:
        await message.reply_text(context.t("attendance.upcoming.none"))
        return
    lines = [context.t("attendance.upcoming.header")]
    for a in upcoming:
        lines.append("")
        lines.append(activity_card(context.lang, a, tz))
        if a.host_pk == member.pk:
            lines.append(context.t("attendance.notice.you_host"))
        rec = records.get(a.pk)
        if rec is not None:
            lines.append(context.t("attendance.upcoming.own_status",
                                   status=context.t(f"attendance.status.{rec.status}")))
        if a.pk in leave:
            lines.append(context.t("attendance.upcoming.leave",
                                   status=context.t(f"attendance.leave.{leave[a.pk]}")))
    await reply_long(message, "\n".join(lines))


# -- /schedule ------------------------------------------------------------------------------


async def schedule_command(update: Update, context: StudyContext) -> None:
    """/schedule: the group's upcoming activities and what the leader can do with them."""
    message = update.effective_message
    assert message is not None
    member = _member(context)
    if not member.is_leader or member.group_id is None:
        await message.reply_text(context.t("attendance.schedule.leaders_only"))
        return
    services = context.services
    async with services.db.read() as conn:
        upcoming = await activities_repo.upcoming_for_group(
            conn, member.group_id, services.now_ts()
        )
    lines = [context.t("attendance.schedule.header", group=member.group_name or "")]
    if upcoming:
        for a in upcoming:
            lines.append("")
            lines.append(activity_card(context.lang, a, services.clock.tz))
    else:
        lines.append(context.t("attendance.schedule.empty"))
    rows = [[(context.t("attendance.schedule.new_button"), callbacks.encode(PREFIX, "new"))]]
    if upcoming:
        rows.append([
            (context.t("attendance.schedule.move_button"), callbacks.encode(PREFIX, "mv")),
            (context.t("attendance.schedule.cancel_button"), callbacks.encode(PREFIX, "cx")),
        ])
    await reply_long(message, "\n".join(lines), reply_markup=markup(rows))


def _activity_buttons(
    context: StudyContext, items: list[activities_repo.Activity], action: str
) -> InlineKeyboardMarkup:
    tz = context.services.clock.tz
    return markup([
        [(f"{local(a.start_at, tz):%m-%d %H:%M} {a.title}"[:60],
          callbacks.encode(PREFIX, action, a.pk))]
        for a in items
    ])


async def _host_step(message: Message, context: StudyContext, state: dict[str, Any]) -> None:
    member = _member(context)
    assert member.group_id is not None
    async with context.services.db.read() as conn:
        order = await hosts_in_order(conn, member.group_id)
    state["step"] = "host"
    rows = []
    for i, m in enumerate(order):
        label = context.t("attendance.schedule.proposed", name=m.name) if i == 0 else m.name
        rows.append([(label, callbacks.encode(PREFIX, "host", m.pk))])
    proposal = order[0].name if order else context.t("attendance.none")
    await message.reply_text(
        context.t("attendance.schedule.ask_host", name=proposal), reply_markup=markup(rows)
    )


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The typed answers: title, date and time, duration, place; a new time when moving."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(context.t("attendance.schedule.need_text"))
        return
    services = context.services
    now = services.clock.now()
    step = state.get("step")
    if step == "title":
        if len(text) > activities.TITLE_MAX:
            await message.reply_text(
                context.t("attendance.schedule.too_long", limit=activities.TITLE_MAX)
            )
            return
        state.update(step="when", title=text)
        await message.reply_text(context.t("attendance.schedule.ask_when"))
    elif step in ("when", "move_when"):
        when = parse_local_datetime(text, now)
        if when is None:
            await message.reply_text(context.t("attendance.schedule.bad_when"))
            return
        if when <= now:
            await message.reply_text(context.t("attendance.schedule.past"))
            return
        if step == "move_when":
            await _move(message, context, int(state["activity"]), when)
            return
        state.update(step="duration", start=when.isoformat())
        rows = [[(context.t("attendance.schedule.minutes", minutes=m),
                  callbacks.encode(PREFIX, "dur", m)) for m in DURATIONS]]
        await message.reply_text(context.t("attendance.schedule.ask_duration"),
                                 reply_markup=markup(rows))
    elif step == "duration":
        minutes = parse_duration(text)
        if minutes is None:
            await message.reply_text(context.t("attendance.schedule.bad_duration"))
            return
        state.update(step="place", minutes=minutes)
        await message.reply_text(context.t("attendance.schedule.ask_place"))
    elif step == "place":
        if len(text) > activities.LOCATION_MAX:
            await message.reply_text(
                context.t("attendance.schedule.too_long", limit=activities.LOCATION_MAX)
            )
            return
        state["place"] = text
        await _host_step(message, context, state)
    elif step == "host":
        await message.reply_text(context.t("attendance.schedule.press_host"))


async def _move(message: Message, context: StudyContext, pk: int, when: dt.datetime) -> None:
    services = context.services
    dialog.end(context)
    outcome, activity = await activities.move_activity(
        services.db, services.config, _member(context), pk, when, services.clock.now()
    )
    if outcome == "ok":
        services.sender.notify()
        assert activity is not None
        await message.reply_text(context.t(
            "attendance.schedule.moved", card=activity_card(context.lang, activity,
                                                            services.clock.tz)))
    else:
        await message.reply_text(context.t(f"attendance.schedule.refused_{outcome}"))


async def on_button(update: Update, context: StudyContext) -> None:
    """`sch:` buttons: new / move / cancel, the duration, the host, the activity to change."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if (
        cb is None or member is None or not member.is_leader or member.group_id is None
        or not isinstance(query.message, Message)
    ):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    message = query.message
    services = context.services
    now = services.clock.now()
    state = dialog.current(context)
    in_schedule = state is not None and state.get("feature") == FEATURE
    if cb.action == "new":
        await query.answer()
        dialog.begin(context, FEATURE, step="title")
        await message.reply_text(context.t("attendance.schedule.ask_title"))
        return
    if cb.action in ("mv", "cx"):
        await query.answer()
        async with services.db.read() as conn:
            upcoming = await activities_repo.upcoming_for_group(
                conn, member.group_id, ts(now)
            )
        if not upcoming:
            await message.reply_text(context.t("attendance.schedule.empty"))
            return
        key = "attendance.schedule.pick_move" if cb.action == "mv" else (
            "attendance.schedule.pick_cancel")
        await message.reply_text(
            context.t(key),
            reply_markup=_activity_buttons(context, upcoming, cb.action + "p"),
        )
        return
    if cb.action == "dur":
        minutes = cb.int_arg(0)
        if not in_schedule or state is None or state.get("step") != "duration" or (
            minutes is None or not 1 <= minutes <= 24 * 60
        ):
            await query.answer(context.t("error.forged"), show_alert=True)
            return
        await query.answer()
        state.update(step="place", minutes=minutes)
        await message.edit_reply_markup(None)
        await message.reply_text(context.t("attendance.schedule.ask_place"))
        return
    if cb.action == "host":
        host_pk = cb.int_arg(0)
        if not in_schedule or state is None or state.get("step") != "host" or host_pk is None:
            await query.answer(context.t("error.forged"), show_alert=True)
            return
        await query.answer()
        draft = activities.Draft(
            title=str(state["title"]), start=dt.datetime.fromisoformat(str(state["start"])),
            minutes=int(state["minutes"]), location=str(state["place"]), host_pk=host_pk,
        )
        outcome, activity = await activities.create_group_activity(
            services.db, services.config, member, draft, now
        )
        if outcome == "bad_host":
            await message.reply_text(context.t("attendance.schedule.refused_bad_host"))
            return
        dialog.end(context)
        await message.edit_reply_markup(None)
        if outcome != "ok" or activity is None:
            await message.reply_text(context.t(f"attendance.schedule.refused_{outcome}"))
            return
        services.sender.notify()
        await message.reply_text(context.t(
            "attendance.schedule.created",
            card=activity_card(context.lang, activity, services.clock.tz),
            activity_id=activity.activity_id,
        ))
        return
    pk = cb.int_arg(0)
    async with services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, pk) if pk is not None else None
    if activity is None or not activities.can_manage(member, activity):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if activity.status != "scheduled" or parse_ts(activity.start_at) <= now:
        key = "cancelled" if activity.status != "scheduled" else "started"
        await query.answer(context.t(f"attendance.schedule.refused_{key}"), show_alert=True)
        return
    await query.answer()
    if cb.action == "mvp":
        dialog.begin(context, FEATURE, step="move_when", activity=activity.pk)
        await message.edit_text(context.t(
            "attendance.schedule.ask_move",
            card=activity_card(context.lang, activity, services.clock.tz),
        ))
    elif cb.action == "cxp":
        await message.edit_text(
            context.t("attendance.schedule.confirm_cancel",
                      card=activity_card(context.lang, activity, services.clock.tz)),
            reply_markup=markup([[
                (context.t("attendance.schedule.yes_cancel"),
                 callbacks.encode(PREFIX, "cxy", activity.pk)),
                (context.t("attendance.schedule.keep"), callbacks.encode(PREFIX, "keep", 0)),
            ]]),
        )
    elif cb.action == "cxy":
        outcome, _ = await activities.cancel_activity(
            services.db, services.config, member, activity.pk, now
        )
        if outcome == "ok":
            services.sender.notify()
            await message.edit_text(context.t("attendance.schedule.cancelled",
                                              title=activity.title))
        else:
            await message.edit_text(context.t(f"attendance.schedule.refused_{outcome}"))


async def keep_button(update: Update, context: StudyContext) -> None:
    """"Keep it" on the cancel question: nothing changes."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(context.t("attendance.schedule.kept"))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("upcoming", upcoming_command, filters=private))
    app.add_handler(CommandHandler("schedule", schedule_command, filters=private))
    app.add_handler(CallbackQueryHandler(keep_button, pattern=r"^sch:keep:"))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
