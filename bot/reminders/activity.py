"""Activity reminders: the due check that queues the day-before and minutes-before reminders of
every activity, and a participant's mutes that silence them for some days.

The timing rules (when to send, when to drop, how mutes merge) are in bot.reminders.rules
(pure); this module applies them to the database, one transaction per change, with the
notifications written to the outbox in that same transaction. Handlers (/mute, /unmute) call
the mute functions and render what they return.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.activities.scheduling import activity_card
from bot.core.i18n import lang_of, t
from bot.delivery import notify
from bot.reminders import rules
from bot.reminders.digest import reminder_rules
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import reminders as repo
from storage.db import Database, parse_ts, ts
from storage.reminders import Candidate

if TYPE_CHECKING:
    from bot.core.services import Services


# -- the due check ----------------------------------------------------------------------------


async def activity_reminders_due(services: Services, now: dt.datetime) -> int:
    """The day-before and minutes-before reminders of every activity (bot.reminders.rules decides
    when); each (activity, kind, start) is dealt with once, in the transaction that queues it."""
    cfg = services.config
    r = reminder_rules(cfg)
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
    """Queues one reminder of one activity to every participant not excused, not already on
    the roll and not muted that day; marking it first makes a second tick send nothing."""
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


# -- mutes --------------------------------------------------------------------------------------


async def mutes(db: Database, member_pk: int, today: dt.date) -> list[rules.DayRange]:
    """The member's muted days from today on."""
    async with db.read() as conn:
        found = await repo.mutes_of(conn, member_pk, ending_on_or_after=today)
    return [rules.DayRange(m.start, m.end) for m in found]


async def mute(
    db: Database, member_pk: int, new: rules.DayRange, now: dt.datetime
) -> list[rules.DayRange]:
    """Adds a range (merged with the others); returns the ranges from today on."""
    today = now.date()
    async with db.tx() as conn:
        existing = [rules.DayRange(m.start, m.end) for m in await repo.mutes_of(conn, member_pk)]
        merged = rules.merge([*existing, new])
        await repo.replace_mutes(conn, member_pk, [(r.start, r.end) for r in merged], ts(now))
    return rules.active_or_future(merged, today)


async def mute_days(
    db: Database, member_pk: int, days: int, now: dt.datetime
) -> tuple[rules.DayRange, list[rules.DayRange]]:
    """Mutes `days` days from today (a /mute button); returns the new range and the ranges
    from today on."""
    today = now.date()
    new = rules.DayRange(today, today + dt.timedelta(days=days - 1))
    return new, await mute(db, member_pk, new, now)


async def unmute(db: Database, member_pk: int, now: dt.datetime) -> bool:
    """Frees today and later; False when nothing was muted from today on."""
    today = now.date()
    async with db.tx() as conn:
        existing = [rules.DayRange(m.start, m.end) for m in await repo.mutes_of(conn, member_pk)]
        if not rules.active_or_future(existing, today):
            return False
        left = rules.unmute(existing, today)
        await repo.replace_mutes(conn, member_pk, [(r.start, r.end) for r in left], ts(now))
    return True
