"""/schedule (a leader creates, moves or cancels a group activity) and /upcoming (the user's
next activities with time, place, host and their own leave status).

Creating asks, one message at a time, for the title, the date and time, the duration and the
place, then proposes hosts in rotation order as buttons (the proposal first). Every change is
made by bot.activities.scheduling in one transaction with the group's notifications; this
module parses, makes that one call and renders its outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities import scheduling as activities
from bot.activities.rules import parse_duration, parse_local_datetime
from bot.activities.scheduling import activity_card, local
from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from handlers.replies import drop_buttons, edit, forged, lookup, markup, reply_long
from storage.activities import Activity
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
    found = await activities.upcoming_for(services.db, member, services.now(), UPCOMING_LIMIT)
    if not found.activities:
        await message.reply_text(context.t("attendance.upcoming.none"))
        return
    lines = [context.t("attendance.upcoming.header")]
    for a in found.activities:
        lines.append("")
        lines.append(activity_card(context.lang, a, tz))
        if a.host_pk == member.pk:
            lines.append(context.t("attendance.notice.you_host"))
        rec = found.records.get(a.pk)
        if rec is not None:
            lines.append(context.t("attendance.upcoming.own_status",
                                   status=context.t(f"attendance.status.{rec.status}")))
        if a.pk in found.leave:
            lines.append(context.t("attendance.upcoming.leave",
                                   status=context.t(f"attendance.leave.{found.leave[a.pk]}")))
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
    upcoming = await activities.group_upcoming(services.db, member.group_id, services.now())
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
    context: StudyContext, items: list[Activity], action: str
) -> InlineKeyboardMarkup | None:
    tz = context.services.clock.tz
    return markup([
        [(f"{local(a.start_at, tz):%m-%d %H:%M} {a.title}"[:60],
          callbacks.encode(PREFIX, action, a.pk))]
        for a in items
    ])


async def _host_step(message: Message, context: StudyContext, state: dict[str, Any]) -> None:
    member = _member(context)
    assert member.group_id is not None
    order = await activities.host_proposals(context.services.db, member.group_id)
    state["step"] = "host"
    rows = []
    for i, m in enumerate(order):
        label = context.t("attendance.schedule.proposed", name=m.name) if i == 0 else m.name
        rows.append([(label, callbacks.encode(PREFIX, "host", m.pk))])
    proposal = order[0].name if order else context.t("attendance.none")
    await message.reply_text(
        context.t("attendance.schedule.ask_host", name=proposal), reply_markup=markup(rows)
    )


async def _when_step(
    message: Message, context: StudyContext, state: dict[str, Any], text: str
) -> None:
    """The date and time of a new activity, or the new time of one being moved."""
    now = context.services.clock.now()
    when = parse_local_datetime(text, now)
    if when is None:
        await message.reply_text(context.t("attendance.schedule.bad_when"))
        return
    if when <= now:
        await message.reply_text(context.t("attendance.schedule.past"))
        return
    if state.get("step") == "move_when":
        await _move(message, context, int(state["activity"]), when)
        return
    state.update(step="duration", start=when.isoformat())
    rows = [[(context.t("attendance.schedule.minutes", minutes=m),
              callbacks.encode(PREFIX, "dur", m)) for m in DURATIONS]]
    await message.reply_text(context.t("attendance.schedule.ask_duration"),
                             reply_markup=markup(rows))


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The typed answers: title, date and time, duration, place; a new time when moving."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(context.t("attendance.schedule.need_text"))
        return
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
        await _when_step(message, context, state, text)
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


# -- the sch: buttons -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pressed:
    """A decoded sch: press from a leader with a group, on a message that can be answered."""

    update: Update
    query: CallbackQuery
    message: Message
    member: Member
    cb: Callback


def _draft_step(context: StudyContext, step: str) -> dict[str, Any] | None:
    """The /schedule draft when it is waiting at `step` (a press from an older question finds
    none)."""
    state = dialog.current(context)
    if state is None or state.get("feature") != FEATURE or state.get("step") != step:
        return None
    return state


async def _new(p: Pressed, context: StudyContext) -> None:
    await p.query.answer()
    dialog.begin(context, FEATURE, step="title")
    await p.message.reply_text(context.t("attendance.schedule.ask_title"))


async def _pick(p: Pressed, context: StudyContext) -> None:
    """Move / Cancel: which upcoming activity."""
    await p.query.answer()
    assert p.member.group_id is not None
    services = context.services
    upcoming = await activities.group_upcoming(services.db, p.member.group_id, services.now())
    if not upcoming:
        await p.message.reply_text(context.t("attendance.schedule.empty"))
        return
    key = "attendance.schedule.pick_move" if p.cb.action == "mv" else (
        "attendance.schedule.pick_cancel")
    await p.message.reply_text(
        context.t(key), reply_markup=_activity_buttons(context, upcoming, p.cb.action + "p"),
    )


async def _duration(p: Pressed, context: StudyContext) -> None:
    minutes = p.cb.int_arg(0)
    state = _draft_step(context, "duration")
    if state is None or minutes is None or not 1 <= minutes <= 24 * 60:
        await forged(p.update, context)
        return
    await p.query.answer()
    state.update(step="place", minutes=minutes)
    await drop_buttons(p.message)
    await p.message.reply_text(context.t("attendance.schedule.ask_place"))


async def _host(p: Pressed, context: StudyContext) -> None:
    host_pk = p.cb.int_arg(0)
    state = _draft_step(context, "host")
    if state is None or host_pk is None:
        await forged(p.update, context)
        return
    await p.query.answer()
    services = context.services
    draft = activities.Draft(
        title=str(state["title"]), start=dt.datetime.fromisoformat(str(state["start"])),
        minutes=int(state["minutes"]), location=str(state["place"]), host_pk=host_pk,
    )
    outcome, activity = await activities.create_group_activity(
        services.db, services.config, p.member, draft, services.clock.now()
    )
    if outcome == "bad_host":
        await p.message.reply_text(context.t("attendance.schedule.refused_bad_host"))
        return
    dialog.end(context)
    await drop_buttons(p.message)
    if outcome != "ok" or activity is None:
        await p.message.reply_text(context.t(f"attendance.schedule.refused_{outcome}"))
        return
    services.sender.notify()
    await p.message.reply_text(context.t(
        "attendance.schedule.created",
        card=activity_card(context.lang, activity, services.clock.tz),
        activity_id=activity.activity_id,
    ))


async def _picked(p: Pressed, context: StudyContext) -> Activity | None:
    """The activity a move / cancel press names, if the presser may change it now; otherwise
    the press is answered (forged, or already cancelled / started) and None returned."""
    pk = p.cb.int_arg(0)
    services = context.services
    refused, activity = (
        await activities.changeable(services.db, p.member, pk, services.clock.now())
        if pk is not None else ("not_found", None)
    )
    if refused in ("not_found", "forbidden") or activity is None:
        await forged(p.update, context)
        return None
    if refused is not None:
        await p.query.answer(context.t(f"attendance.schedule.refused_{refused}"), show_alert=True)
        return None
    await p.query.answer()
    return activity


async def _move_pick(p: Pressed, context: StudyContext) -> None:
    activity = await _picked(p, context)
    if activity is None:
        return
    dialog.begin(context, FEATURE, step="move_when", activity=activity.pk)
    await edit(p.message, context.t(
        "attendance.schedule.ask_move",
        card=activity_card(context.lang, activity, context.services.clock.tz),
    ))


async def _cancel_pick(p: Pressed, context: StudyContext) -> None:
    activity = await _picked(p, context)
    if activity is None:
        return
    await edit(
        p.message,
        context.t("attendance.schedule.confirm_cancel",
                  card=activity_card(context.lang, activity, context.services.clock.tz)),
        markup([[
            (context.t("attendance.schedule.yes_cancel"),
             callbacks.encode(PREFIX, "cxy", activity.pk)),
            (context.t("attendance.schedule.keep"), callbacks.encode(PREFIX, "keep", 0)),
        ]]),
    )


async def _cancel_yes(p: Pressed, context: StudyContext) -> None:
    activity = await _picked(p, context)
    if activity is None:
        return
    services = context.services
    outcome, _ = await activities.cancel_activity(
        services.db, services.config, p.member, activity.pk, services.clock.now()
    )
    if outcome == "ok":
        services.sender.notify()
        await edit(p.message, context.t("attendance.schedule.cancelled", title=activity.title))
    else:
        await edit(p.message, context.t(f"attendance.schedule.refused_{outcome}"))


Press = Callable[[Pressed, StudyContext], Awaitable[None]]
PRESSES: dict[str, Press] = {
    "new": _new, "mv": _pick, "cx": _pick, "dur": _duration, "host": _host,
    "mvp": _move_pick, "cxp": _cancel_pick, "cxy": _cancel_yes,
}


async def on_button(update: Update, context: StudyContext) -> None:
    """`sch:` buttons: new / move / cancel, the duration, the host, the activity to change;
    a leader's own group only."""
    query = update.callback_query
    assert query is not None
    found = await lookup(update, context, PRESSES,
                         allowed=lambda m: m.is_leader and m.group_id is not None)
    if found is None:
        return
    cb, member, press = found
    if not isinstance(query.message, Message):
        await forged(update, context)
        return
    await press(Pressed(update, query, query.message, member, cb), context)


async def keep_button(update: Update, context: StudyContext) -> None:
    """"Keep it" on the cancel question: nothing changes."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if isinstance(query.message, Message):
        await edit(query.message, context.t("attendance.schedule.kept"))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("upcoming", upcoming_command, filters=private))
    app.add_handler(CommandHandler("schedule", schedule_command, filters=private))
    app.add_handler(CallbackQueryHandler(keep_button, pattern=r"^sch:keep:"))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
