"""Roll call in chat: /checkin, /checkout, /code (code + QR for the host), /attendance (own year,
a group's roll, any activity for HR) and corrections with a reason.

A trainee checks in with `/checkin <code>`, by sending the code after `/checkin`, or by scanning
the host's QR (`/start ci_<token>`, handed over by handlers.start). Where the activity has
coordinates and `[checkin] require_location` is on, a location within the radius follows; it
must be the user's own (not forwarded) and fresh. Every record is written by
bot.activities.roll_call in one short transaction after the code was checked.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities import roll_call
from bot.activities.rules import (
    STATUSES,
    check_code,
    check_token,
    code_valid_until,
    count_statuses,
    current_code,
    deep_link,
    distance_m,
    location_verdict,
    looks_like_code,
    normalize_code,
    parse_token,
    qr_token,
)
from bot.activities.scheduling import activity_card, local, rules_of
from bot.core import callbacks, commands, dialog
from bot.core.services import StudyContext
from bot.core.text import MAX_CAPTION, clip, split_message
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.activities import Activity, takes_part
from storage.attendance import Record
from storage.db import parse_ts, ts
from storage.models import Member

PREFIX = "att"
FEATURE = "attendance"
QR_SCALE = 8
QR_BORDER = 4
REASON_MAX = 200
RECENT_ROLLS = 6
RECENT_OWN = 8

commands.register("checkin", order=10)
commands.register("checkout", order=11)
commands.register("code", order=12)
commands.register("attendance", order=13)


# -- small helpers --------------------------------------------------------------------------


def _hm(context: StudyContext, text_ts: str | None) -> str:
    if not text_ts:
        return context.t("attendance.none")
    return local(text_ts, context.services.clock.tz).strftime("%H:%M")


def _card(context: StudyContext, activity: Activity) -> str:
    return activity_card(context.lang, activity, context.services.clock.tz)


def _status(context: StudyContext, status: str | None) -> str:
    if status is None:
        return context.t("attendance.status.none")
    return context.t(f"attendance.status.{status}")


def markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline buttons from rows of (text, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _choice(
    context: StudyContext, activities: list[Activity], action: str, *extra: object
) -> InlineKeyboardMarkup:
    tz = context.services.clock.tz
    return markup(
        [
            [(
                f"{local(a.start_at, tz):%H:%M} {a.title}"[:60],
                callbacks.encode(PREFIX, action, a.pk, *extra),
            )]
            for a in activities
        ]
    )


def _member(context: StudyContext) -> Member:
    member = context.member
    assert member is not None
    return member


async def reply_long(message: Message, text: str, **kwargs: Any) -> None:
    """Answers with `text` split under Telegram's limit; `kwargs` (buttons) go on the last part."""
    parts = split_message(text)
    for part in parts[:-1]:
        await message.reply_text(part)
    await message.reply_text(parts[-1], **kwargs)


async def _reply(update: Update, text: str, **kwargs: Any) -> None:
    message = update.effective_message
    assert message is not None
    await reply_long(message, text, **kwargs)


async def _forged(update: Update, context: StudyContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(context.t("error.forged"), show_alert=True)


# -- /checkin -------------------------------------------------------------------------------


async def checkin_command(update: Update, context: StudyContext) -> None:
    """/checkin [code]: checks in to the user's open activity (asking for the code if needed)."""
    code = normalize_code("".join(context.args or [])) or None
    await _start_checkin(update, context, code)


async def _start_checkin(update: Update, context: StudyContext, code: str | None) -> None:
    services = context.services
    member = _member(context)
    now = services.clock.now()
    open_ = await roll_call.open_for(services.db, services.config, member, now)
    if not open_:
        await _nothing_open(update, context, member, now, code)
        return
    pending = [a for a, rec in open_ if rec is None]
    if not pending:
        a, rec = open_[0]
        assert rec is not None
        await _reply(update, _already_text(context, a, rec))
        return
    if len(pending) > 1:
        extra = (code,) if code and looks_like_code(code) else ()
        await _reply(
            update, context.t("attendance.checkin.pick"),
            reply_markup=_choice(context, pending, "ci", *extra),
        )
        return
    await _with_activity(update, context, pending[0], code)


async def _nothing_open(
    update: Update, context: StudyContext, member: Member, now: dt.datetime, code: str | None
) -> None:
    """No open activity of the user's: say why as precisely as we can."""
    services = context.services
    rules = rules_of(services.config.checkin)
    if code and looks_like_code(code):
        for other in await roll_call.open_activities(services.db, services.config, now):
            if other.has_venue and check_code(other.secret, code, now, rules) != "wrong":
                await _reply(update, context.t("attendance.checkin.not_participant",
                                               title=other.title))
                return
    ended = await roll_call.recently_closed_for(services.db, member, now)
    if ended is not None:
        records = await roll_call.records_of(services.db, member, [ended])
        rec = records.get(ended.pk)
        if rec is not None and rec.checkin_at is not None:
            await _reply(update, _already_text(context, ended, rec))
            return
        await _reply(update, context.t("attendance.checkin.closed", title=ended.title,
                                       at=_hm(context, ended.end_at)))
        return
    upcoming = await roll_call.next_for(services.db, member, now)
    if upcoming is None:
        await _reply(update, context.t("attendance.checkin.nothing"))
        return
    opens = local(upcoming.start_at, services.clock.tz) - rules.opens_before
    await _reply(update, context.t(
        "attendance.checkin.nothing_next", card=_card(context, upcoming),
        opens=f"{opens:%Y-%m-%d %H:%M}",
    ))


def _already_text(context: StudyContext, activity: Activity, record: Record) -> str:
    if record.checkin_at is None:
        return context.t("attendance.checkin.recorded", title=activity.title,
                         status=_status(context, record.status))
    return context.t(
        "attendance.checkin.already", title=activity.title, at=_hm(context, record.checkin_at),
        status=_status(context, record.status),
    )


async def _with_activity(
    update: Update, context: StudyContext, activity: Activity, code: str | None
) -> None:
    """Checks in to `activity`: online at once; in person with the code (asked for if missing)."""
    services = context.services
    if not activity.has_venue:
        await _record(update, context, activity, "online")
        return
    member = _member(context)
    now = services.clock.now()
    locked = await roll_call.code_locked_until(
        services.db, services.config, activity.pk, member.pk, now)
    if locked is not None:
        await _code_locked(update, context, activity, locked)
        return
    if code is None:
        dialog.begin(context, FEATURE, step="code", activity=activity.pk)
        await _reply(update, context.t("attendance.checkin.ask_code", title=activity.title))
        return
    verdict = check_code(activity.secret, code, now, rules_of(services.config.checkin))
    if verdict == "wrong":
        locked = await roll_call.wrong_code(
            services.db, services.config, activity.pk, member.pk, now)
        if locked is not None:
            await _code_locked(update, context, activity, locked)
            return
    if verdict != "ok":
        dialog.begin(context, FEATURE, step="code", activity=activity.pk)
        await _reply(update, context.t(f"attendance.checkin.code_{verdict}"))
        return
    await _after_proof(update, context, activity, "code")


async def _code_locked(
    update: Update, context: StudyContext, activity: Activity, until: dt.datetime
) -> None:
    """Too many wrong codes: no more tries until `until` (the dialog ends)."""
    dialog.end(context)
    await _reply(update, context.t(
        "attendance.checkin.code_locked", title=activity.title,
        until=f"{until.astimezone(context.services.clock.tz):%H:%M}",
        count=context.services.config.checkin.max_wrong_codes,
    ))


async def _after_proof(
    update: Update, context: StudyContext, activity: Activity, source: roll_call.Source
) -> None:
    """The code (or QR) was right: ask for the location where needed, else record."""
    services = context.services
    cfg = services.config.checkin
    if cfg.require_location and activity.has_coordinates:
        member = _member(context)
        records = await roll_call.records_of(services.db, member, [activity])
        if activity.pk in records:
            dialog.end(context)
            await _reply(update, _already_text(context, activity, records[activity.pk]))
            return
        dialog.begin(context, FEATURE, step="location", activity=activity.pk, source=source)
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(context.t("attendance.checkin.location_button"),
                             request_location=True)]],
            resize_keyboard=True, one_time_keyboard=True,
        )
        await _reply(update, context.t("attendance.checkin.ask_location", title=activity.title),
                     reply_markup=keyboard)
        return
    await _record(update, context, activity, source)


async def _record(
    update: Update, context: StudyContext, activity: Activity, source: roll_call.Source
) -> None:
    services = context.services
    member = _member(context)
    dialog.end(context)
    result = await roll_call.check_in(
        services.db, services.config, activity.pk, member.pk, services.clock.now(), source,
        activity=activity, member=member,
    )
    remove = ReplyKeyboardRemove() if source != "online" else None
    if result.outcome == "ok":
        assert result.record is not None
        key = "attendance.checkin.ok_late" if result.record.status == "late" else (
            "attendance.checkin.ok")
        text = context.t(key, title=activity.title, at=_hm(context, result.record.checkin_at),
                         start=_hm(context, activity.start_at))
    elif result.outcome == "already" and result.record is not None:
        text = _already_text(context, activity, result.record)
    elif result.outcome == "closed":
        text = context.t("attendance.checkin.closed", title=activity.title,
                         at=_hm(context, activity.end_at))
    elif result.outcome == "too_early":
        opens = local(activity.start_at, services.clock.tz) - rules_of(
            services.config.checkin).opens_before
        text = context.t("attendance.checkin.too_early", title=activity.title,
                         opens=f"{opens:%H:%M}")
    elif result.outcome == "not_participant":
        text = context.t("attendance.checkin.not_participant", title=activity.title)
    else:
        text = context.t("attendance.checkin.gone", title=activity.title)
    await _reply(update, text, reply_markup=remove)


async def start_checkin_link(update: Update, context: StudyContext, token: str) -> None:
    """/start ci_<token> (the host's QR): checks the token, then continues like a right code."""
    message = update.effective_message
    assert message is not None
    services = context.services
    if context.member is None:
        await message.reply_text(
            context.t("register.how_to", program=services.config.program.name)
        )
        return
    member = context.member
    parsed = parse_token(token)
    async with services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, parsed.activity_pk) if parsed else None
    if parsed is None or activity is None:
        await message.reply_text(context.t("attendance.checkin.bad_link"))
        return
    if activity.status != "scheduled":
        await message.reply_text(context.t("attendance.checkin.gone", title=activity.title))
        return
    if not takes_part(activity, member):
        await message.reply_text(
            context.t("attendance.checkin.not_participant", title=activity.title)
        )
        return
    now = services.clock.now()
    verdict = check_token(activity.secret, parsed, now, rules_of(services.config.checkin))
    if verdict == "wrong":
        await message.reply_text(context.t("attendance.checkin.bad_link"))
        return
    records = await roll_call.records_of(services.db, member, [activity])
    if activity.pk in records:
        await message.reply_text(_already_text(context, activity, records[activity.pk]))
        return
    if verdict == "expired":
        await message.reply_text(context.t("attendance.checkin.qr_expired"))
        return
    await _after_proof(update, context, activity, "qr")


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The code after /checkin, the location after the code, or a correction's reason."""
    message = update.effective_message
    assert message is not None
    step = state.get("step")
    if step == "reason":
        await _correction_reason(update, context, state)
        return
    services = context.services
    async with services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, int(state["activity"]))
    if activity is None:
        dialog.end(context)
        return
    if step == "code":
        if not message.text or not looks_like_code(message.text):
            await message.reply_text(context.t("attendance.checkin.not_a_code"))
            return
        await _with_activity(update, context, activity, normalize_code(message.text))
        return
    if step == "location":
        await _location(update, context, activity, state)


async def _location(
    update: Update, context: StudyContext, activity: Activity, state: dict[str, Any]
) -> None:
    message = update.effective_message
    assert message is not None
    if message.location is None:
        await message.reply_text(context.t("attendance.checkin.need_location"))
        return
    services = context.services
    cfg = services.config.checkin
    now = services.clock.now()
    # A live location's updates arrive as edits of the first message: their time is the edit's.
    sent_at = message.edit_date if update.edited_message is not None and message.edit_date \
        else message.date
    assert activity.lat is not None and activity.lon is not None
    distance = distance_m(activity.lat, activity.lon, message.location.latitude,
                          message.location.longitude)
    radius = activity.radius_m or cfg.radius_m
    verdict = location_verdict(
        forwarded=message.forward_origin is not None, sent_at=sent_at, now=now,
        max_age=dt.timedelta(seconds=cfg.location_max_age_seconds), distance=distance,
        radius_m=radius,
    )
    if verdict == "outside":
        await message.reply_text(context.t("attendance.checkin.outside",
                                           distance=round(distance), radius=radius))
        return
    if verdict != "ok":
        await message.reply_text(context.t(f"attendance.checkin.location_{verdict}"))
        return
    await _record(update, context, activity, state.get("source", "code"))


# -- /code ----------------------------------------------------------------------------------


def can_show_code(member: Member, activity: Activity) -> bool:
    """The host, HR, and for a group activity the group's leader run the roll call."""
    if not member.active:
        return False
    if member.is_hr or activity.host_pk == member.pk:
        return True
    return (
        member.is_leader and activity.type == "group_study"
        and activity.group_id == member.group_id
    )


async def code_command(update: Update, context: StudyContext) -> None:
    """/code: the current check-in code and QR of the activity the user runs."""
    services = context.services
    member = _member(context)
    now = services.clock.now()
    open_ = await roll_call.open_activities(services.db, services.config, now)
    mine = [a for a in open_ if can_show_code(member, a)]
    in_person = [a for a in mine if a.has_venue]
    if not in_person:
        key = "attendance.code.online_only" if mine else "attendance.code.none"
        await _reply(update, context.t(key))
        return
    if len(in_person) > 1:
        await _reply(update, context.t("attendance.code.pick"),
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
    refresh = markup([[(context.t("attendance.code.refresh"),
                         callbacks.encode(PREFIX, "code", activity.pk))]])
    await message.reply_text(code, reply_markup=refresh)


# -- /checkout ------------------------------------------------------------------------------


async def checkout_command(update: Update, context: StudyContext) -> None:
    """/checkout: records leaving; before the check-out window asks to confirm an early leave."""
    services = context.services
    member = _member(context)
    now = services.clock.now()
    can, done = await roll_call.checkout_candidates(services.db, services.config, member, now)
    if not can:
        if done:
            a, rec = done[0]
            await _reply(update, context.t(
                "attendance.checkout.already", title=a.title,
                at=_hm(context, rec.checkout_at), status=_status(context, rec.status),
            ))
        else:
            await _reply(update, context.t("attendance.checkout.not_in"))
        return
    if len(can) > 1:
        await _reply(update, context.t("attendance.checkout.pick"),
                     reply_markup=_choice(context, [a for a, _ in can], "co"))
        return
    text, buttons = await _checkout(context, can[0][0].pk, confirmed=False)
    await _reply(update, text, reply_markup=buttons)


async def _checkout(
    context: StudyContext, activity_pk: int, *, confirmed: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    services = context.services
    member = _member(context)
    now = services.clock.now()
    result = await roll_call.check_out(
        services.db, services.config, activity_pk, member.pk, now, confirmed_early=confirmed
    )
    a = result.activity
    title = a.title if a else ""
    if result.outcome == "confirm_early":
        assert a is not None
        rules = rules_of(services.config.checkin)
        from_ = local(a.end_at, services.clock.tz) - rules.checkout_opens_before_end
        buttons = markup([
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
    if context.args:
        async with services.db.read() as conn:
            activity = await activities_repo.by_activity_id(conn, context.args[0].strip())
        if activity is None:
            await _reply(update, context.t("attendance.view.unknown",
                                           activity_id=clip(context.args[0])))
            return
        if roll_call.can_view_roll(member, activity):
            text, buttons = await _roll(context, activity)
        elif takes_part(activity, member):
            text, buttons = await _own(context, member), None
        else:
            text, buttons = context.t("attendance.view.forbidden"), None
        await _reply(update, text, reply_markup=buttons)
        return
    if member.is_hr:
        text, buttons = await _recent(context, member)
    elif member.is_leader and member.group_id is not None:
        async with services.db.read() as conn:
            latest = await activities_repo.started(
                conn, services.now_ts(), group_id=member.group_id, limit=1
            )
        if latest:
            text, buttons = await _roll(context, latest[0])
        else:
            text, buttons = await _own(context, member), None
    else:
        text, buttons = await _own(context, member), None
    await _reply(update, text, reply_markup=buttons)


async def _own(context: StudyContext, member: Member) -> str:
    """The member's year: counts per status and the latest activities."""
    services = context.services
    tz = services.clock.tz
    now = services.clock.now()
    year_start = dt.datetime(now.year, 1, 1, tzinfo=tz)
    year_end = dt.datetime(now.year + 1, 1, 1, tzinfo=tz)
    async with services.db.read() as conn:
        statuses = await attendance_repo.member_statuses_between(
            conn, member.pk, ts(year_start), ts(year_end)
        )
        latest = await activities_repo.for_member(
            conn, member, start_to=ts(now), newest_first=True, limit=RECENT_OWN
        )
        records = await attendance_repo.for_member(conn, member.pk, [a.pk for a in latest])
    counts = count_statuses(statuses)
    lines = [context.t("attendance.view.own_header", name=member.name, year=now.year)]
    lines.append(" · ".join(
        context.t("attendance.view.count", status=_status(context, s), count=counts[s])
        for s in STATUSES
    ))
    if latest:
        lines.append("")
        lines.append(context.t("attendance.view.latest"))
        for a in latest:
            rec = records.get(a.pk)
            lines.append(context.t(
                "attendance.view.own_line", date=f"{local(a.start_at, tz):%m-%d %H:%M}",
                title=a.title, status=_status(context, rec.status if rec else None),
            ))
    else:
        lines.append(context.t("attendance.view.no_activities"))
    return "\n".join(lines)


async def _recent(
    context: StudyContext, member: Member
) -> tuple[str, InlineKeyboardMarkup | None]:
    """HR: the latest activities that have started, to open one."""
    services = context.services
    async with services.db.read() as conn:
        recent = await activities_repo.started(conn, services.now_ts(), limit=10)
    if not recent:
        return context.t("attendance.view.no_activities"), None
    return context.t("attendance.view.pick"), _choice(context, recent, "roll")


async def _roll(
    context: StudyContext, activity: Activity
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One activity's roll: every participant's status, corrections, and buttons."""
    services = context.services
    member = _member(context)
    async with services.db.read() as conn:
        people = await activities_repo.participants(conn, activity)
        roll = await attendance_repo.roll(conn, activity.pk)
        fixes = await attendance_repo.corrections(conn, activity.pk)
        earlier = (
            await activities_repo.started(
                conn, services.now_ts(), group_id=activity.group_id, limit=RECENT_ROLLS,
                before_start=activity.start_at,
            )
            if activity.type == "group_study" and activity.group_id is not None else []
        )
        # Someone who left the group since keeps their record on the roll.
        missing = [pk for pk in roll if pk not in {p.pk for p in people}]
        for pk in missing:
            extra = await members_repo.by_pk(conn, pk)
            if extra is not None:
                people.append(extra)
    names = {p.pk: p.name for p in people}
    counts = count_statuses(r.status for r in roll.values())
    lines = [_card(context, activity), ""]
    pending_key = "attendance.status.none" if activity.closed_at is None else (
        "attendance.status.unrecorded")
    for p in people:
        rec = roll.get(p.pk)
        if rec is None:
            lines.append(context.t("attendance.view.roll_line", name=p.name,
                                   member_id=p.member_id, status=context.t(pending_key),
                                   times=""))
            continue
        times = ""
        if rec.checkin_at:
            times = context.t("attendance.view.times", checkin=_hm(context, rec.checkin_at),
                              checkout=_hm(context, rec.checkout_at))
        if rec.note:
            times += context.t("attendance.view.note", note=rec.note)
        lines.append(context.t("attendance.view.roll_line", name=p.name, member_id=p.member_id,
                               status=_status(context, rec.status), times=times))
    lines.append("")
    lines.append(" · ".join(
        context.t("attendance.view.count", status=_status(context, s), count=counts[s])
        for s in STATUSES
    ))
    if fixes:
        lines.append("")
        lines.append(context.t("attendance.view.corrections"))
        for f in fixes:
            lines.append(context.t(
                "attendance.view.correction_line",
                at=f"{local(f.at, services.clock.tz):%m-%d %H:%M}", by=f.actor_name,
                name=names.get(f.member_pk, "?"), old=_status(context, f.old_status),
                new=_status(context, f.new_status), reason=f.reason,
            ))
    rows: list[list[tuple[str, str]]] = []
    now = services.clock.now()
    if roll_call.can_correct(member, activity) and parse_ts(activity.start_at) <= now:
        rows.append([(context.t("attendance.view.fix_button"),
                      callbacks.encode(PREFIX, "fix", activity.pk))])
    tz = services.clock.tz
    for a in earlier:
        rows.append([(f"{local(a.start_at, tz):%m-%d} {a.title}"[:60],
                      callbacks.encode(PREFIX, "roll", a.pk))])
    if takes_part(activity, member):
        rows.append([(context.t("attendance.view.mine_button"), callbacks.encode(PREFIX, "mine"))])
    return "\n".join(lines), (markup(rows) if rows else None)


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


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `att:` button: pick an activity, confirm an early leave, open a roll, correct."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None or not isinstance(query.message, Message):
        await _forged(update, context)
        return
    message = query.message
    services = context.services
    action = cb.action
    pk = cb.int_arg(0)
    if action == "mine":
        await query.answer()
        await message.reply_text(await _own(context, member))
        return
    if pk is None:
        await _forged(update, context)
        return
    async with services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, pk)
    if activity is None:
        await _forged(update, context)
        return
    if action == "ci":
        await query.answer()
        code = cb.args[1] if len(cb.args) > 1 else None
        await message.edit_reply_markup(None)
        records = await roll_call.records_of(services.db, member, [activity])
        if activity.pk in records:
            await message.reply_text(_already_text(context, activity, records[activity.pk]))
            return
        await _with_activity(update, context, activity, code)
    elif action == "code":
        if not can_show_code(member, activity):
            await _forged(update, context)
            return
        await query.answer()
        open_ = await roll_call.open_activities(services.db, services.config,
                                                services.clock.now())
        if activity.pk not in {a.pk for a in open_}:
            await message.reply_text(context.t("attendance.code.none"))
            return
        await _send_code(message, context, activity)
    elif action == "co":
        await query.answer()
        text, buttons = await _checkout(context, activity.pk, confirmed=False)
        await message.edit_text(text, reply_markup=buttons)
    elif action == "leave":
        await query.answer()
        text, _ = await _checkout(context, activity.pk, confirmed=True)
        await message.edit_text(text)
    elif action == "stay":
        await query.answer()
        await message.edit_text(context.t("attendance.checkout.stayed", title=activity.title))
    elif action == "roll":
        if not roll_call.can_view_roll(member, activity):
            await _forged(update, context)
            return
        await query.answer()
        text, buttons = await _roll(context, activity)
        await reply_long(message, text, reply_markup=buttons)
    elif action in ("fix", "fixm", "fixs"):
        await _fix_button(update, context, member, activity, cb)
    else:
        await _forged(update, context)


async def _fix_button(
    update: Update, context: StudyContext, member: Member, activity: Activity,
    cb: callbacks.Callback,
) -> None:
    """Correction steps: choose the member, then the new status, then type the reason."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    services = context.services
    if not roll_call.can_correct(member, activity) or parse_ts(activity.start_at) > (
        services.clock.now()
    ):
        await _forged(update, context)
        return
    async with services.db.read() as conn:
        people = await activities_repo.participants(conn, activity)
        roll = await attendance_repo.roll(conn, activity.pk)
    by_pk = {p.pk: p for p in people}
    if cb.action == "fix":
        await query.answer()
        rows = [
            [(f"{p.name} · {_status(context, roll[p.pk].status if p.pk in roll else None)}",
              callbacks.encode(PREFIX, "fixm", activity.pk, p.pk))]
            for p in people
        ]
        await query.message.reply_text(
            context.t("attendance.fix.pick_member", title=activity.title),
            reply_markup=markup(rows),
        )
        return
    target_pk = cb.int_arg(1)
    target = by_pk.get(target_pk) if target_pk is not None else None
    if target is None:
        await _forged(update, context)
        return
    current = roll[target.pk].status if target.pk in roll else None
    if cb.action == "fixm":
        await query.answer()
        rows = [
            [(_status(context, s), callbacks.encode(PREFIX, "fixs", activity.pk, target.pk, s))]
            for s in STATUSES if s != current
        ]
        await query.message.edit_text(
            context.t("attendance.fix.pick_status", name=target.name,
                      status=_status(context, current)),
            reply_markup=markup(rows),
        )
        return
    status = cb.args[2] if len(cb.args) > 2 else ""
    if status not in STATUSES or status == current:
        await _forged(update, context)
        return
    await query.answer()
    dialog.begin(context, FEATURE, step="reason", activity=activity.pk, member=target.pk,
                 status=status)
    await query.message.edit_text(context.t(
        "attendance.fix.ask_reason", name=target.name, old=_status(context, current),
        new=_status(context, status),
    ))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("checkin", checkin_command, filters=private))
    app.add_handler(CommandHandler("checkout", checkout_command, filters=private))
    app.add_handler(CommandHandler("code", code_command, filters=private))
    app.add_handler(CommandHandler("attendance", attendance_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
