"""Scheduling activities: creating, moving and cancelling group activities in chat, the host
rotation, and telling everyone concerned (through the outbox, in each recipient's language).

The rules (rotation order, windows) are in bot.activities.rules; this module applies them to the
database in one transaction per change, together with the notifications, and reads what
/schedule and /upcoming show.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from bot.activities.rules import Candidate, Rules, host_order
from bot.core.config import CheckinConfig, Config
from bot.core.i18n import lang_of, t
from bot.delivery import notify
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.activities import Activity
from storage.attendance import Record
from storage.db import Database, parse_ts, ts
from storage.models import Member

ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TITLE_MAX = 100
LOCATION_MAX = 100


def rules_of(cfg: CheckinConfig) -> Rules:
    return Rules.of(
        opens_before_minutes=cfg.opens_before_minutes,
        late_after_minutes=cfg.late_after_minutes,
        checkout_opens_before_end_minutes=cfg.checkout_opens_before_end_minutes,
        code_rotation_seconds=cfg.code_rotation_seconds,
        code_grace_seconds=cfg.code_grace_seconds,
    )


def new_secret() -> str:
    return secrets.token_hex(16)



# -- text shared by handlers and notifications ---------------------------------------------


def local(text_ts: str, tz: dt.tzinfo) -> dt.datetime:
    return parse_ts(text_ts).astimezone(tz)


def when_text(lang: str, start: dt.datetime, end: dt.datetime) -> str:
    """"2026-03-02（周一）15:30–17:30" in the language's form; the end's date when it differs."""
    weekday = t(lang, f"attendance.weekday.{start.weekday()}")
    end_text = end.strftime("%H:%M") if end.date() == start.date() else end.strftime(
        "%Y-%m-%d %H:%M"
    )
    return t(
        lang, "attendance.when", date=start.strftime("%Y-%m-%d"), weekday=weekday,
        start=start.strftime("%H:%M"), end=end_text,
    )


def activity_when(lang: str, activity: Activity, tz: dt.tzinfo) -> str:
    return when_text(lang, local(activity.start_at, tz), local(activity.end_at, tz))


def type_name(lang: str, activity_type: str) -> str:
    return t(lang, f"attendance.type.{activity_type}")


def place_text(lang: str, activity: Activity) -> str:
    if not activity.has_venue:
        return t(lang, "attendance.online_place")
    return activity.location or t(lang, "attendance.none")


def host_text(lang: str, activity: Activity) -> str:
    return activity.host_name or t(lang, "attendance.none")


def activity_card(lang: str, activity: Activity, tz: dt.tzinfo) -> str:
    """Title, type, time, place and host: the block every activity message starts with."""
    return t(
        lang, "attendance.card", title=activity.title, type=type_name(lang, activity.type),
        group=activity.group_name or t(lang, "attendance.everyone"),
        when=activity_when(lang, activity, tz), place=place_text(lang, activity),
        host=host_text(lang, activity),
    )


# -- rotation -------------------------------------------------------------------------------


async def hosts_in_order(conn: aiosqlite.Connection, group_id: int) -> list[Member]:
    """The group's active members in rotation order (the proposal first)."""
    members = [
        m for m in await members_repo.group_members(conn, group_id)
        if m.role in ("trainee", "leader")
    ]
    history = [(pk, parse_ts(start)) for pk, start in
               await activities_repo.hosting_history(conn, group_id)]
    by_pk = {m.pk: m for m in members}
    order = host_order([Candidate(m.pk, m.member_id) for m in members], history)
    return [by_pk[c.pk] for c in order]


async def new_activity_id(conn: aiosqlite.Connection, start: dt.datetime) -> str:
    """An id for an activity created in chat: S + local date + 3 random characters."""
    while True:
        suffix = "".join(secrets.choice(ID_ALPHABET) for _ in range(3))
        candidate = f"S{start:%y%m%d}{suffix}"
        if not await activities_repo.activity_id_taken(conn, candidate):
            return candidate


# -- notifications --------------------------------------------------------------------------

Change = Literal["new", "moved", "cancelled"]


async def notify_participants(
    conn: aiosqlite.Connection,
    cfg: Config,
    activity: Activity,
    change: Change,
    now: str,
    *,
    exclude: Sequence[int] = (),
    old_when: tuple[str, str] | None = None,
) -> int:
    """Tells every participant (and the host) about a new, moved or cancelled activity."""
    people = {m.pk: m for m in await activities_repo.participants(conn, activity)}
    if activity.host_pk is not None and activity.host_pk not in people:
        host = await members_repo.by_pk(conn, activity.host_pk)
        if host is not None:
            people[host.pk] = host
    tz = cfg.tz
    sent = 0
    for member in people.values():
        if member.pk in exclude:
            continue
        lang = lang_of(member, cfg)
        card = activity_card(lang, activity, tz)
        if activity.host_pk == member.pk and change != "cancelled":
            card += "\n" + t(lang, "attendance.notice.you_host")
        old = (
            when_text(lang, local(old_when[0], tz), local(old_when[1], tz)) if old_when else ""
        )
        row = await notify.to_member(
            conn, cfg, member, f"attendance.notice.{change}", now=now,
            kind=f"attendance.{change}", card=card, old=old,
        )
        sent += row is not None
    return sent


# -- changes in chat ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """A group activity a leader is creating."""

    title: str
    start: dt.datetime
    minutes: int
    location: str
    host_pk: int


Outcome = Literal["ok", "forbidden", "not_found", "started", "cancelled", "bad_host", "past"]


def can_manage(actor: Member, activity: Activity) -> bool:
    """A leader manages the group activities of their own group (HR uses the import)."""
    return (
        actor.active
        and actor.is_leader
        and activity.type == "group_study"
        and activity.group_id is not None
        and activity.group_id == actor.group_id
    )


async def create_group_activity(
    db: Database, cfg: Config, leader: Member, draft: Draft, now: dt.datetime
) -> tuple[Outcome, Activity | None]:
    """Creates the activity and notifies the group, in one transaction."""
    if not leader.is_leader or leader.group_id is None:
        return "forbidden", None
    if draft.start <= now:
        return "past", None
    now_s = ts(now)
    async with db.tx() as conn:
        host = await members_repo.by_pk(conn, draft.host_pk)
        if host is None or not host.active or host.group_id != leader.group_id:
            return "bad_host", None
        activity_id = await new_activity_id(conn, draft.start.astimezone(cfg.tz))
        pk = await activities_repo.insert(
            conn, activity_id=activity_id, type="group_study", title=draft.title,
            group_id=leader.group_id, start_at=ts(draft.start),
            end_at=ts(draft.start + dt.timedelta(minutes=draft.minutes)),
            location=draft.location, lat=None, lon=None, radius_m=None, host_pk=host.pk,
            secret=new_secret(), source="chat", created_by=leader.pk, now=now_s,
        )
        activity = await activities_repo.by_pk(conn, pk)
        assert activity is not None
        await notify_participants(conn, cfg, activity, "new", now_s, exclude=[leader.pk])
    return "ok", activity


async def _changeable(
    conn: aiosqlite.Connection, actor: Member, activity_pk: int, now: dt.datetime
) -> tuple[Outcome | None, Activity | None]:
    """The activity, and why `actor` may not move or cancel it now (None: they may)."""
    activity = await activities_repo.by_pk(conn, activity_pk)
    if activity is None:
        return "not_found", None
    if not can_manage(actor, activity):
        return "forbidden", activity
    if activity.status != "scheduled":
        return "cancelled", activity
    if parse_ts(activity.start_at) <= now:
        return "started", activity
    return None, activity


# A move or a cancellation, applied once `_changeable` lets it through.
Alteration = Callable[[aiosqlite.Connection, Activity], Awaitable[tuple[Outcome, Activity]]]


async def _alter(
    db: Database, actor: Member, activity_pk: int, now: dt.datetime, change: Alteration
) -> tuple[Outcome, Activity | None]:
    """Runs `change` on the activity if `actor` may still move or cancel it, in the same
    transaction as that check; otherwise why not."""
    async with db.tx() as conn:
        refused, activity = await _changeable(conn, actor, activity_pk, now)
        if refused is not None:
            return refused, activity
        assert activity is not None
        return await change(conn, activity)


async def move_activity(
    db: Database, cfg: Config, actor: Member, activity_pk: int, new_start: dt.datetime,
    now: dt.datetime,
) -> tuple[Outcome, Activity | None]:
    """Moves an activity that has not started, keeping its duration; notifies the group."""
    now_s = ts(now)

    async def move(conn: aiosqlite.Connection, activity: Activity) -> tuple[Outcome, Activity]:
        if new_start <= now:
            return "past", activity
        duration = parse_ts(activity.end_at) - parse_ts(activity.start_at)
        await activities_repo.move(
            conn, activity.pk, ts(new_start), ts(new_start + duration), now_s
        )
        moved = await activities_repo.by_pk(conn, activity.pk)
        assert moved is not None
        await notify_participants(
            conn, cfg, moved, "moved", now_s, exclude=[actor.pk],
            old_when=(activity.start_at, activity.end_at),
        )
        return "ok", moved

    return await _alter(db, actor, activity_pk, now, move)


async def cancel_activity(
    db: Database, cfg: Config, actor: Member, activity_pk: int, now: dt.datetime
) -> tuple[Outcome, Activity | None]:
    """Cancels an activity that has not started; notifies the group."""
    now_s = ts(now)

    async def cancel(conn: aiosqlite.Connection, activity: Activity) -> tuple[Outcome, Activity]:
        await activities_repo.cancel(conn, activity.pk, now_s)
        await notify_participants(conn, cfg, activity, "cancelled", now_s, exclude=[actor.pk])
        return "ok", activity

    return await _alter(db, actor, activity_pk, now, cancel)


async def changeable(
    db: Database, actor: Member, activity_pk: int, now: dt.datetime
) -> tuple[Outcome | None, Activity | None]:
    """The activity a leader picked to move or cancel, and why they may not now (None: they
    may); the change itself re-checks in its own transaction."""
    async with db.read() as conn:
        return await _changeable(conn, actor, activity_pk, now)


# -- what /schedule and /upcoming show --------------------------------------------------------


async def group_upcoming(db: Database, group_id: int, now: dt.datetime) -> list[Activity]:
    """The group's scheduled group activities that have not started, soonest first."""
    async with db.read() as conn:
        return await activities_repo.upcoming_for_group(conn, group_id, ts(now))


async def host_proposals(db: Database, group_id: int) -> list[Member]:
    """The group's hosts in rotation order, the proposal first (the /schedule host step)."""
    async with db.read() as conn:
        return await hosts_in_order(conn, group_id)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A member's next activities with their own roll-call record and leave status."""

    activities: list[Activity]
    records: dict[int, Record]
    leave: dict[int, str]


async def upcoming_for(db: Database, member: Member, now: dt.datetime, limit: int) -> Upcoming:
    """The next activities `member` takes part in (all of them, for HR), not yet ended."""
    async with db.read() as conn:
        found = await activities_repo.for_member(conn, member, end_after=ts(now), limit=limit)
        pks = [a.pk for a in found]
        records = await attendance_repo.for_member(conn, member.pk, pks)
        leave = await attendance_repo.leave_statuses(conn, member.pk, pks)
    return Upcoming(found, records, leave)
