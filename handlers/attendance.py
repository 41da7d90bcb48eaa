"""Roll call in chat: /checkin, /checkout, /code (code + QR for the host), /attendance (own year,
a group's roll, any activity for HR) and corrections with a reason.

A trainee checks in with `/checkin <code>`, by sending the code after `/checkin`, or by scanning
the host's QR (`/start ci_<token>`, handed over by handlers.start). Where the activity has
coordinates and `[checkin] require_location` is on, a location within the radius follows; it
must be the user's own (not forwarded) and fresh. Each of those steps is one call to
bot.activities.checkin.attempt, which decides, writes the record and says what to ask next;
this module renders its answer and keeps the dialog step it names. Check-in and check-out pass
the time the member sent the update (bot.delivery.inbox.now_and_sent): that is what they are
judged by.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Awaitable, Callable
from typing import Any, cast

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities import checkin, roll_call, views
from bot.activities.checkin import Attempt, SharedLocation
from bot.activities.roll_call import can_show_code
from bot.activities.rules import STATUSES, code_valid_until, current_code, deep_link, qr_token
from bot.activities.scheduling import activity_card, local, rules_of
from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.config import Config
from bot.core.services import StudyContext
from bot.core.text import MAX_CAPTION, clip
from bot.delivery.inbox import now_and_sent
from handlers import replies
from handlers.replies import Rows, reply, reply_long
from storage.activities import Activity, takes_part
from storage.db import Database, parse_ts
from storage.models import Member

PREFIX = "att"
FEATURE = "attendance"
QR_SCALE = 8
QR_BORDER = 4
REASON_MAX = 200

commands.register("checkin", order=10)
commands.register("checkout", order=11)
commands.register("code", order=12)
commands.register("attendance", order=13)


# -- small helpers --------------------------------------------------------------------------


def _hm(context: StudyContext, text_ts: str | None) -> str:
    return views.hm(context.lang, context.services.clock.tz, text_ts)


def _card(context: StudyContext, activity: Activity) -> str:
    return activity_card(context.lang, activity, context.services.clock.tz)


def _status(context: StudyContext, status: str | None) -> str:
    return views.status_word(context.lang, status)


def _choice(
    context: StudyContext, activities: list[Activity], action: str, *extra: object
) -> InlineKeyboardMarkup | None:
    tz = context.services.clock.tz
    return replies.markup([
        [(f"{local(a.start_at, tz):%H:%M} {a.title}"[:60],
          callbacks.encode(PREFIX, action, a.pk, *extra))]
        for a in activities
    ])


def _member(context: StudyContext) -> Member:
    member = context.member
    assert member is not None
    return member


# -- /checkin -------------------------------------------------------------------------------


def _flow(context: StudyContext) -> tuple[Database, Config, dt.datetime, Member]:
    """What every check-in call starts from: the database, the config, now, the member."""
    services = context.services
    return services.db, services.config, services.clock.now(), _member(context)


def _sent(update: Update, context: StudyContext) -> dt.datetime:
    """When the member sent `update` (what the check-in is judged by)."""
    return now_and_sent(update, context)[1]


async def _show(update: Update, context: StudyContext, result: Attempt) -> None:
    """Renders a check-in attempt's answer and keeps the dialog step it names."""
    _follow(context, result)
    if result.kind != "vanished":  # the dialog's activity is gone: nothing to say
        await reply(update, _checkin_text(context, result), reply_markup=_keyboard(context, result))


async def checkin_command(update: Update, context: StudyContext) -> None:
    """/checkin [code]: checks in to the user's open activity (asking for the code if needed)."""
    code = "".join(context.args or [])
    await _show(update, context, await checkin.attempt(
        *_flow(context), code=code, sent_at=_sent(update, context)))


async def start_checkin_link(update: Update, context: StudyContext, token: str) -> None:
    """/start ci_<token> (the host's QR): checks the token, then continues like a right code."""
    if context.member is None:
        await reply(update, context.t("register.how_to",
                                      program=context.services.config.program.name))
        return
    await _show(update, context, await checkin.attempt(
        *_flow(context), step="link", token=token, sent_at=_sent(update, context)))


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The code after /checkin, the location after the code, or a correction's reason."""
    message = update.effective_message
    assert message is not None
    step = state.get("step")
    if step == "reason":
        await _correction_reason(update, context, state)
    elif step == "code":
        await _show(update, context, await checkin.attempt(
            *_flow(context), step="code", activity_pk=int(state["activity"]), code=message.text,
            sent_at=_sent(update, context)))
    elif step == "location":
        await _show(update, context, await checkin.attempt(
            *_flow(context), step="location", activity_pk=int(state["activity"]),
            location=_shared_location(update, message),
            source=cast(roll_call.Source, state.get("source", "code")),
            sent_at=_sent(update, context)))


def _shared_location(update: Update, message: Message) -> SharedLocation | None:
    if message.location is None:
        return None
    # A live location's updates arrive as edits of the first message: their time is the edit's.
    sent_at = message.edit_date if update.edited_message is not None and message.edit_date \
        else message.date
    return SharedLocation(message.location.latitude, message.location.longitude,
                          message.forward_origin is not None, sent_at)


def _follow(context: StudyContext, result: Attempt) -> None:
    """Keeps the dialog step the attempt asks for (saved, so a restart resumes it)."""
    if result.dialog == "end":
        dialog.end(context)
    elif result.dialog == "code":
        assert result.activity is not None
        dialog.begin(context, FEATURE, step="code", activity=result.activity.pk)
    elif result.dialog == "location":
        assert result.activity is not None
        dialog.begin(context, FEATURE, step="location", activity=result.activity.pk,
                     source=result.source)


def _keyboard(
    context: StudyContext, result: Attempt
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if result.kind == "pick":
        extra = (result.code,) if result.code else ()
        return _choice(context, list(result.choices), "ci", *extra)
    if result.kind == "ask_location":
        return ReplyKeyboardMarkup(
            [[KeyboardButton(context.t("attendance.checkin.location_button"),
                             request_location=True)]],
            resize_keyboard=True, one_time_keyboard=True,
        )
    # After an in-person record attempt the location keyboard (if any) has done its job.
    if result.source is not None and result.source != "online":
        return ReplyKeyboardRemove()
    return None


def _checkin_text(context: StudyContext, result: Attempt) -> str:
    a = result.activity
    title = a.title if a else ""
    kind = result.kind
    if kind == "recorded":
        assert a is not None and result.record is not None
        key = "attendance.checkin.ok_late" if result.record.status == "late" else (
            "attendance.checkin.ok")
        return context.t(key, title=title, at=_hm(context, result.record.checkin_at),
                         start=_hm(context, a.start_at))
    if kind == "already":
        assert a is not None and result.record is not None
        return views.already_text(context.lang, context.services.clock.tz, a, result.record)
    if kind == "closed":
        assert a is not None
        return context.t("attendance.checkin.closed", title=title, at=_hm(context, a.end_at))
    if kind in ("too_early", "nothing_next"):
        assert a is not None
        opens = local(a.start_at, context.services.clock.tz) - rules_of(
            context.services.config.checkin).opens_before
        if kind == "too_early":
            return context.t("attendance.checkin.too_early", title=title,
                             opens=f"{opens:%H:%M}")
        return context.t("attendance.checkin.nothing_next", card=_card(context, a),
                         opens=f"{opens:%Y-%m-%d %H:%M}")
    if kind == "locked":
        assert result.until is not None
        return context.t(
            "attendance.checkin.code_locked", title=title,
            until=f"{result.until.astimezone(context.services.clock.tz):%H:%M}",
            count=context.services.config.checkin.max_wrong_codes,
        )
    if kind == "outside":
        return context.t("attendance.checkin.outside", distance=round(result.distance),
                         radius=result.radius)
    # The rest are worded by their kind alone (and the title where the text names it).
    return context.t(f"attendance.checkin.{kind}", title=title)


# -- /code ----------------------------------------------------------------------------------


async def code_command(update: Update, context: StudyContext) -> None:
    """/code: the current check-in code and QR of the activity the user runs."""
    services = context.services
    member = _member(context)
    open_ = await roll_call.open_activities(services.db, services.config, services.clock.now())
    mine = [a for a in open_ if can_show_code(member, a)]
    in_person = [a for a in mine if a.has_venue]
    if not in_person:
        key = "attendance.code.online_only" if mine else "attendance.code.none"
        await reply(update, context.t(key))
        return
    if len(in_person) > 1:
        await reply(update, context.t("attendance.code.pick"),
                    reply_markup=_choice(context, in_person, "code"))
        return
    message = update.effective_message
    assert message is not None
    await _send_code(message, context, in_person[0])


async def _send_code(message: Message, context: StudyContext, activity: Activity) -> None:
    """The QR of the deep link as a photo (code in the caption), then the code on its own."""
    import segno  # only the host's /code needs it

    services = context.services
    rules = rules_of(services.config.checkin)
    now = services.clock.now()
    code = current_code(activity.secret, now, rules)
    link = deep_link(services.bot_username, qr_token(activity.pk, activity.secret, now, rules))
    until = code_valid_until(now, rules).astimezone(services.clock.tz)
    buffer = io.BytesIO()
    segno.make_qr(link, error="m").save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    buffer.seek(0)
    caption = clip(context.t(
        "attendance.code.caption", card=_card(context, activity), code=code,
        until=f"{until:%H:%M:%S}", link=link,
    ), MAX_CAPTION)
    await message.reply_photo(buffer, caption=caption)
    refresh = replies.markup([[(context.t("attendance.code.refresh"),
                                callbacks.encode(PREFIX, "code", activity.pk))]])
    await message.reply_text(code, reply_markup=refresh)


# -- /checkout ------------------------------------------------------------------------------


async def checkout_command(update: Update, context: StudyContext) -> None:
    """/checkout: records leaving; before the check-out window asks to confirm an early leave."""
    services = context.services
    member = _member(context)
    sent = _sent(update, context)
    can, done = await roll_call.checkout_candidates(services.db, services.config, member, sent)
    if not can:
        if done:
            a, rec = done[0]
            await reply(update, context.t(
                "attendance.checkout.already", title=a.title,
                at=_hm(context, rec.checkout_at), status=_status(context, rec.status),
            ))
        else:
            await reply(update, context.t("attendance.checkout.not_in"))
        return
    if len(can) > 1:
        await reply(update, context.t("attendance.checkout.pick"),
                    reply_markup=_choice(context, [a for a, _ in can], "co"))
        return
    text, buttons = await _checkout(update, context, can[0][0].pk, confirmed=False)
    await reply(update, text, reply_markup=buttons)


async def _checkout(
    update: Update, context: StudyContext, activity_pk: int, *, confirmed: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    services = context.services
    now, sent = now_and_sent(update, context)
    result = await roll_call.check_out(
        services.db, services.config, activity_pk, _member(context).pk, now,
        confirmed_early=confirmed, sent_at=sent,
    )
    a = result.activity
    title = a.title if a else ""
    if result.outcome == "confirm_early":
        assert a is not None
        rules = rules_of(services.config.checkin)
        from_ = local(a.end_at, services.clock.tz) - rules.checkout_opens_before_end
        buttons = replies.markup([
            [(context.t("attendance.checkout.yes_leave"),
              callbacks.encode(PREFIX, "leave", a.pk))],
            [(context.t("attendance.checkout.stay"), callbacks.encode(PREFIX, "stay", a.pk))],
        ])
        return context.t("attendance.checkout.confirm", title=title, start=f"{from_:%H:%M}",
                         end=_hm(context, a.end_at)), buttons
    if result.outcome in ("ok", "early"):
        assert result.record is not None
        key = "attendance.checkout.ok" if result.outcome == "ok" else "attendance.checkout.early"
        return context.t(key, title=title, at=_hm(context, result.record.checkout_at)), None
    if result.outcome == "already_out" and result.record is not None:
        return context.t("attendance.checkout.already", title=title,
                         at=_hm(context, result.record.checkout_at),
                         status=_status(context, result.record.status)), None
    if result.outcome == "closed":
        return context.t("attendance.checkout.closed", title=title,
                         at=_hm(context, a.end_at if a else None)), None
    if result.outcome == "gone":
        return context.t("attendance.checkin.gone", title=title), None
    return context.t("attendance.checkout.not_in"), None


# -- /attendance ----------------------------------------------------------------------------


async def attendance_command(update: Update, context: StudyContext) -> None:
    """/attendance [activity_id]: the user's year; a leader's group roll; any roll for HR."""
    services = context.services
    member = _member(context)
    buttons: InlineKeyboardMarkup | None = None
    if context.args:
        activity = await roll_call.activity_by_id(services.db, context.args[0].strip())
        if activity is None:
            text = context.t("attendance.view.unknown", activity_id=clip(context.args[0]))
        elif roll_call.can_view_roll(member, activity):
            text, buttons = await _roll(context, activity)
        elif takes_part(activity, member):
            text = await _own(context, member)
        else:
            text = context.t("attendance.view.forbidden")
    elif member.is_hr:
        text, buttons = await _recent(context)
    elif member.is_leader and member.group_id is not None:
        latest = await roll_call.started(services.db, services.clock.now(),
                                         group_id=member.group_id, limit=1)
        if latest:
            text, buttons = await _roll(context, latest[0])
        else:
            text = await _own(context, member)
    else:
        text = await _own(context, member)
    await reply(update, text, reply_markup=buttons)


async def _own(context: StudyContext, member: Member) -> str:
    """The member's year: counts per status and the latest activities."""
    services = context.services
    year = await views.own_year(services.db, member, services.clock.now())
    return views.own_text(context.lang, services.clock.tz, member, year)


async def _recent(context: StudyContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """HR: the latest activities that have started, to open one."""
    services = context.services
    recent = await roll_call.started(services.db, services.clock.now(), limit=10)
    if not recent:
        return context.t("attendance.view.no_activities"), None
    return context.t("attendance.view.pick"), _choice(context, recent, "roll")


async def _roll(
    context: StudyContext, activity: Activity
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One activity's roll, with buttons: correct it, open an earlier one, the reader's own."""
    services = context.services
    member = _member(context)
    tz = services.clock.tz
    now = services.clock.now()
    sheet = await views.roll_sheet(services.db, activity, now)
    rows: Rows = []
    if roll_call.can_correct(member, activity) and parse_ts(activity.start_at) <= now:
        rows.append([(context.t("attendance.view.fix_button"),
                      callbacks.encode(PREFIX, "fix", activity.pk))])
    for a in sheet.earlier:
        rows.append([(f"{local(a.start_at, tz):%m-%d} {a.title}"[:60],
                      callbacks.encode(PREFIX, "roll", a.pk))])
    if takes_part(activity, member):
        rows.append([(context.t("attendance.view.mine_button"), callbacks.encode(PREFIX, "mine"))])
    return views.roll_text(context.lang, tz, activity, sheet), replies.markup(rows)


# -- corrections ----------------------------------------------------------------------------


async def _correction_reason(
    update: Update, context: StudyContext, state: dict[str, Any]
) -> None:
    message = update.effective_message
    assert message is not None
    reason = (message.text or "").strip()
    if len(reason) < 2 or len(reason) > REASON_MAX:
        await message.reply_text(context.t("attendance.fix.bad_reason", limit=REASON_MAX))
        return
    services = context.services
    member = _member(context)
    dialog.end(context)
    result = await roll_call.correct(
        services.db, services.config, member.pk, int(state["activity"]), int(state["member"]),
        str(state["status"]), reason, services.clock.now(),
    )
    if result.outcome == "ok":
        services.sender.notify()
        assert result.member is not None and result.activity is not None
        await message.reply_text(context.t(
            "attendance.fix.done", name=result.member.name, title=result.activity.title,
            old=_status(context, result.old_status), new=_status(context, str(state["status"])),
            reason=reason,
        ))
    else:
        await message.reply_text(context.t(f"attendance.fix.{result.outcome}"))


# -- buttons --------------------------------------------------------------------------------

# A button's handler: the press, its decoded data, the presser, the activity it names, and the
# message the button was on.
Button = Callable[[Update, StudyContext, Callback, Member, Activity, Message], Awaitable[None]]


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `att:` button: pick an activity, confirm an early leave, open a roll, correct."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None or not isinstance(query.message, Message):
        await replies.forged(update, context)
        return
    if cb.action == "mine":  # the presser's own year: names no activity
        await query.answer()
        await query.message.reply_text(await _own(context, member))
        return
    pk = cb.int_arg(0)
    handler = _BUTTONS.get(cb.action)
    activity = (
        await roll_call.activity_by_pk(context.services.db, pk) if pk is not None else None
    )
    if activity is None or handler is None:
        await replies.forged(update, context)
        return
    await handler(update, context, cb, member, activity, query.message)


async def _answer(update: Update) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()


async def _pick_button(
    update: Update, context: StudyContext, cb: Callback, member: Member, activity: Activity,
    message: Message,
) -> None:
    """One of several open activities chosen (with the code /checkin carried, if any)."""
    await _answer(update)
    code = cb.args[1] if len(cb.args) > 1 else None
    await message.edit_reply_markup(None)
    await _show(update, context, await checkin.attempt(
        *_flow(context), step="pick", activity_pk=activity.pk, code=code,
        sent_at=_sent(update, context)))


async def _code_button(
    update: Update, context: StudyContext, cb: Callback, member: Member, activity: Activity,
    message: Message,
) -> None:
    """The host's choice of activity, or the refresh under a code: a new code and QR."""
    if not can_show_code(member, activity):
        await replies.forged(update, context)
        return
    await _answer(update)
    services = context.services
    open_ = await roll_call.open_activities(services.db, services.config, services.clock.now())
    if activity.pk not in {a.pk for a in open_}:
        await message.reply_text(context.t("attendance.code.none"))
        return
    await _send_code(message, context, activity)


async def _checkout_button(
    update: Update, context: StudyContext, cb: Callback, member: Member, activity: Activity,
    message: Message,
) -> None:
    """Check out of the chosen activity ("co"), confirm leaving early ("leave"), or stay."""
    await _answer(update)
    if cb.action == "stay":
        await message.edit_text(context.t("attendance.checkout.stayed", title=activity.title))
        return
    confirmed = cb.action == "leave"
    text, buttons = await _checkout(update, context, activity.pk, confirmed=confirmed)
    await message.edit_text(text, reply_markup=None if confirmed else buttons)


async def _roll_button(
    update: Update, context: StudyContext, cb: Callback, member: Member, activity: Activity,
    message: Message,
) -> None:
    if not roll_call.can_view_roll(member, activity):
        await replies.forged(update, context)
        return
    await _answer(update)
    text, buttons = await _roll(context, activity)
    await reply_long(message, text, reply_markup=buttons)


async def _fix_button(
    update: Update, context: StudyContext, cb: Callback, member: Member, activity: Activity,
    message: Message,
) -> None:
    """Correction steps: choose the member, then the new status, then type the reason."""
    services = context.services
    if not roll_call.can_correct(member, activity) or parse_ts(activity.start_at) > (
        services.clock.now()
    ):
        await replies.forged(update, context)
        return
    people, roll = await roll_call.participants_roll(services.db, activity)
    if cb.action == "fix":
        await _answer(update)
        rows = [
            [(f"{p.name} · {_status(context, roll[p.pk].status if p.pk in roll else None)}",
              callbacks.encode(PREFIX, "fixm", activity.pk, p.pk))]
            for p in people
        ]
        await message.reply_text(context.t("attendance.fix.pick_member", title=activity.title),
                                 reply_markup=replies.markup(rows))
        return
    target_pk = cb.int_arg(1)
    target = {p.pk: p for p in people}.get(target_pk) if target_pk is not None else None
    if target is None:
        await replies.forged(update, context)
        return
    current = roll[target.pk].status if target.pk in roll else None
    if cb.action == "fixm":
        await _answer(update)
        rows = [
            [(_status(context, s), callbacks.encode(PREFIX, "fixs", activity.pk, target.pk, s))]
            for s in STATUSES if s != current
        ]
        await message.edit_text(context.t("attendance.fix.pick_status", name=target.name,
                                          status=_status(context, current)),
                                reply_markup=replies.markup(rows))
        return
    status = cb.args[2] if len(cb.args) > 2 else ""
    if status not in STATUSES or status == current:
        await replies.forged(update, context)
        return
    await _answer(update)
    dialog.begin(context, FEATURE, step="reason", activity=activity.pk, member=target.pk,
                 status=status)
    await message.edit_text(context.t(
        "attendance.fix.ask_reason", name=target.name, old=_status(context, current),
        new=_status(context, status),
    ))


_BUTTONS: dict[str, Button] = {
    "ci": _pick_button, "code": _code_button, "co": _checkout_button,
    "leave": _checkout_button, "stay": _checkout_button, "roll": _roll_button,
    "fix": _fix_button, "fixm": _fix_button, "fixs": _fix_button,
}


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("checkin", checkin_command, filters=private))
    app.add_handler(CommandHandler("checkout", checkout_command, filters=private))
    app.add_handler(CommandHandler("code", code_command, filters=private))
    app.add_handler(CommandHandler("attendance", attendance_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
