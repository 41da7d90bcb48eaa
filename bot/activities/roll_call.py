"""Roll call: check-in, check-out, closing an activity's roll (absent / excused), corrections.

Each change is one short transaction that re-checks everything it relies on (the activity is
still scheduled, the window is open, the member takes part), so what a user was told before
pressing a button or typing a code cannot be stale. The UNIQUE (activity, member) constraint
makes a second check-in impossible, however many arrive at once.

Check-in and check-out are judged at the time the member sent them (`sent_at`, see
bot.delivery.inbox.sent_at), which is also the time recorded; `now`, when the bot handles them,
dates what the bot does (a leave request voided by the check-in). An update handled late
(after an outage, a restart, a crash replay) is thus judged as if it had been handled at once.

Closing is a due check: every tick closes each activity whose end has passed and whose roll
is not closed yet, so an activity that ended while the bot was down is closed at the next
start, once.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

from bot.activities import rules as attendance_rules
from bot.activities.rules import (
    ATTENDED,
    STATUSES,
    Rules,
    checkin_verdict,
    checkout_verdict,
    count_statuses,
    is_open,
    status_on_close,
)
from bot.activities.scheduling import activity_card, activity_when, rules_of
from bot.core.clock import as_sent
from bot.core.config import Config
from bot.core.i18n import lang_of, t
from bot.delivery import notify
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import leave as leave_repo
from storage import members as members_repo
from storage.activities import Activity, takes_part
from storage.attendance import Record
from storage.db import Database, parse_ts, ts
from storage.models import Member

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

# How long after an activity ended a /checkin still hears "closed" rather than "nothing open".
RECENTLY_ENDED = dt.timedelta(hours=12)

Source = Literal["code", "qr", "online"]
CheckinOutcome = Literal[
    "ok", "already", "closed", "too_early", "not_participant", "gone"
]


@dataclass(frozen=True, slots=True)
class CheckinResult:
    outcome: CheckinOutcome
    activity: Activity | None = None
    record: Record | None = None


def _start_end(activity: Activity) -> tuple[dt.datetime, dt.datetime]:
    return parse_ts(activity.start_at), parse_ts(activity.end_at)


async def open_for(
    db: Database, cfg: Config, member: Member, now: dt.datetime
) -> list[tuple[Activity, Record | None]]:
    """The member's activities whose check-in window is open now, each with the member's
    record (None before checking in), in one query."""
    rules = rules_of(cfg.checkin)
    async with db.reader() as conn:  # one statement: need not wait for the lock
        found = await activities_repo.open_around_with_record(
            conn, ts(now), ts(now + rules.opens_before), member.pk
        )
    return [
        (a, rec) for a, rec in found
        if takes_part(a, member) and is_open(now, *_start_end(a), rules)
    ]


async def open_activities(db: Database, cfg: Config, now: dt.datetime) -> list[Activity]:
    """Every activity whose check-in window is open now."""
    rules = rules_of(cfg.checkin)
    async with db.read() as conn:
        found = await activities_repo.open_around(conn, ts(now), ts(now + rules.opens_before))
    return [a for a in found if is_open(now, *_start_end(a), rules)]


async def records_of(db: Database, member: Member, activities: list[Activity]) -> dict[int, Record]:
    async with db.read() as conn:
        return await attendance_repo.for_member(conn, member.pk, [a.pk for a in activities])


async def recently_closed_for(
    db: Database, member: Member, now: dt.datetime
) -> Activity | None:
    """The member's activity that ended most recently (within hours), for "window closed"."""
    async with db.read() as conn:
        ended = await activities_repo.ended_between(conn, ts(now - RECENTLY_ENDED), ts(now))
    mine = [a for a in ended if takes_part(a, member)]
    return mine[0] if mine else None


async def next_for(db: Database, member: Member, now: dt.datetime) -> Activity | None:
    """The member's next activity that has not started."""
    if member.role not in activities_repo.PARTICIPANT_ROLES:
        return None
    async with db.read() as conn:
        upcoming = await activities_repo.for_member(conn, member, start_from=ts(now), limit=1)
    return upcoming[0] if upcoming else None


def _code_limits(cfg: Config) -> tuple[int, dt.timedelta, dt.timedelta]:
    c = cfg.checkin
    return (c.max_wrong_codes, dt.timedelta(minutes=c.wrong_codes_window_minutes),
            dt.timedelta(minutes=c.wrong_codes_lockout_minutes))


def _locked_until(cfg: Config, tries: list[str], now: dt.datetime) -> dt.datetime | None:
    """Until when the stored wrong tries `tries` lock the code out (None: not locked)."""
    limit, window, lockout = _code_limits(cfg)
    return attendance_rules.code_locked_until(
        [parse_ts(t) for t in tries], now, limit=limit, window=window, lockout=lockout)


async def code_locked_until(
    db: Database, cfg: Config, activity_pk: int, member_pk: int, now: dt.datetime
) -> dt.datetime | None:
    """Until when the member's code tries for the activity are refused (too many wrong)."""
    limit, window, _ = _code_limits(cfg)
    if limit <= 0:
        return None
    async with db.reader() as conn:  # one statement
        tries = await attendance_repo.wrong_codes_since(
            conn, activity_pk, member_pk, ts(now - window))
    return _locked_until(cfg, tries, now)


async def wrong_code(
    db: Database, cfg: Config, activity_pk: int, member_pk: int, now: dt.datetime
) -> dt.datetime | None:
    """Records a wrong code; returns until when tries are refused if that was one too many."""
    limit, window, _ = _code_limits(cfg)
    if limit <= 0:
        return None
    async with db.tx() as conn:
        await attendance_repo.add_wrong_code(
            conn, activity_pk, member_pk, ts(now), prune_before=ts(now - window))
        tries = await attendance_repo.wrong_codes_since(
            conn, activity_pk, member_pk, ts(now - window))
    return _locked_until(cfg, tries, now)


async def check_in(
    db: Database, cfg: Config, activity_pk: int, member_pk: int, now: dt.datetime,
    source: Source, *, activity: Activity | None = None, member: Member | None = None,
    sent_at: dt.datetime | None = None,
) -> CheckinResult:
    """Records the member present or late as of `sent_at` (None: `now`), the check-in time
    recorded, in one short transaction at `now`.

    With the activity and member the caller has just read, the usual case is a single guarded
    INSERT (it only matches while the activity is still scheduled at the same times) in one
    round trip to the database thread, so a burst of check-ins holds the database lock as
    briefly as possible; anything unusual (the insert matched nothing) reads everything again
    in a second transaction, which tells "already", "gone" or "closed" apart.
    """
    rules = rules_of(cfg.checkin)
    sent = as_sent(sent_at, now)
    at, voided_at = ts(sent), ts(now)
    if activity is not None and member is not None and activity.pk == activity_pk \
            and member.pk == member_pk and takes_part(activity, member):
        verdict = checkin_verdict(sent, *_start_end(activity), rules)
        if verdict in ("present", "late"):
            start_at, end_at = activity.start_at, activity.end_at

            def insert(conn: sqlite3.Connection) -> bool:
                if not attendance_repo.check_in_if_unchanged(
                    conn, activity_pk, start_at, end_at, member_pk, verdict, at, source
                ):
                    return False
                # Present after all: an open leave request for it is void.
                leave_repo.void_on_checkin_sync(conn, activity_pk, member_pk, voided_at)
                return True

            # One hop to the database thread for the whole transaction (a burst of check-ins
            # queues on the database lock; each hop held it for a turn of the busy event loop).
            if await db.run_tx(insert):
                record = Record(activity_pk, member_pk, verdict, at, None, "", source)
                return CheckinResult("ok", activity, record)
    async with db.tx() as conn:
        return await _check_in_slow(conn, activity_pk, member_pk, now, sent, source, rules)


async def _check_in_slow(
    conn: aiosqlite.Connection, activity_pk: int, member_pk: int, now: dt.datetime,
    sent: dt.datetime, source: Source, rules: Rules,
) -> CheckinResult:
    at = ts(sent)
    activity = await activities_repo.by_pk(conn, activity_pk)
    if activity is None or activity.status != "scheduled":
        return CheckinResult("gone", activity)
    member = await members_repo.by_pk(conn, member_pk)
    if member is None or not takes_part(activity, member):
        return CheckinResult("not_participant", activity)
    existing = await attendance_repo.get(conn, activity_pk, member_pk)
    if existing is not None:
        return CheckinResult("already", activity, existing)
    verdict = checkin_verdict(sent, *_start_end(activity), rules)
    if verdict in ("too_early", "closed"):
        return CheckinResult(verdict, activity)
    if not await attendance_repo.check_in(conn, activity_pk, member_pk, verdict, at, source):
        return CheckinResult("already", activity, await attendance_repo.get(
            conn, activity_pk, member_pk))
    await leave_repo.void_on_checkin(conn, activity_pk, member_pk, ts(now))
    return CheckinResult(
        "ok", activity, Record(activity_pk, member_pk, verdict, at, None, "", source)
    )


CheckoutOutcome = Literal["ok", "early", "confirm_early", "closed", "not_in", "already_out", "gone"]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    outcome: CheckoutOutcome
    activity: Activity | None = None
    record: Record | None = None


async def checkout_candidates(
    db: Database, cfg: Config, member: Member, now: dt.datetime
) -> tuple[list[tuple[Activity, Record]], list[tuple[Activity, Record]]]:
    """(activities the member may check out of at `now`, ones already checked out of); the
    caller passes the time the /checkout was sent."""
    rules = rules_of(cfg.checkin)
    async with db.read() as conn:
        around = await activities_repo.open_around(conn, ts(now), ts(now + rules.opens_before))
        records = await attendance_repo.for_member(conn, member.pk, [a.pk for a in around])
    can: list[tuple[Activity, Record]] = []
    done: list[tuple[Activity, Record]] = []
    for a in around:
        rec = records.get(a.pk)
        if rec is None or rec.checkin_at is None:
            continue
        if rec.checkout_at is None and rec.status in ATTENDED:
            can.append((a, rec))
        else:
            done.append((a, rec))
    return can, done


async def check_out(
    db: Database, cfg: Config, activity_pk: int, member_pk: int, now: dt.datetime,
    *, confirmed_early: bool, sent_at: dt.datetime | None = None,
) -> CheckoutResult:
    """Records the check-out as of `sent_at` (None: `now`), the time recorded: before the
    check-out window only once the early leave is confirmed, after the end not at all."""
    rules = rules_of(cfg.checkin)
    sent = as_sent(sent_at, now)
    async with db.tx() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
        if activity is None or activity.status != "scheduled":
            return CheckoutResult("gone", activity)
        record = await attendance_repo.get(conn, activity_pk, member_pk)
        if record is None or record.checkin_at is None:
            return CheckoutResult("not_in", activity, record)
        if record.checkout_at is not None or record.status not in ATTENDED:
            return CheckoutResult("already_out", activity, record)
        verdict = checkout_verdict(sent, *_start_end(activity), rules)
        if verdict == "closed":
            return CheckoutResult("closed", activity, record)
        early = verdict in ("early", "not_started")
        if early and not confirmed_early:
            return CheckoutResult("confirm_early", activity, record)
        await attendance_repo.check_out(conn, activity_pk, member_pk, ts(sent), early=early)
        record = await attendance_repo.get(conn, activity_pk, member_pk)
    return CheckoutResult("early" if early else "ok", activity, record)


# -- closing --------------------------------------------------------------------------------


async def close_activity(db: Database, cfg: Config, activity: Activity, now: dt.datetime) -> bool:
    """Closes one activity's roll: absent (or excused, with approved leave) for everyone
    without a record; tells each of them and sends the roll to the leader (group activity)
    or HR. Returns False when it was already closed."""
    at = ts(now)
    async with db.tx() as conn:
        if not await activities_repo.mark_closed(conn, activity.pk, at):
            return False
        people = await activities_repo.participants(conn, activity)
        recorded = await attendance_repo.recorded_member_pks(conn, activity.pk)
        excused = await attendance_repo.excused_member_pks(conn, activity.pk)
        statuses = status_on_close([m.pk for m in people], recorded, excused)
        added = set(await attendance_repo.close(conn, activity.pk, statuses, at))
        tz = cfg.tz
        for member in people:
            if member.pk not in added or statuses[member.pk] != "absent":
                continue
            lang = lang_of(member, cfg)
            await notify.to_member(
                conn, cfg, member, "attendance.notice.absent", now=at,
                kind="attendance.absent", dedupe_key=f"att:absent:{activity.pk}:{member.pk}",
                title=activity.title, when=activity_when(lang, activity, tz),
            )
        roll = await attendance_repo.roll(conn, activity.pk)
        counts = count_statuses(r.status for r in roll.values())
        summary: dict[str, Any] = {str(k): v for k, v in counts.items()}
        if activity.type == "group_study" and activity.group_id is not None:
            leader = await members_repo.group_leader(conn, activity.group_id)
            if leader is not None:
                lang = lang_of(leader, cfg)
                await notify.to_member(
                    conn, cfg, leader, "attendance.notice.closed", now=at,
                    kind="attendance.closed", dedupe_key=f"att:closed:{activity.pk}",
                    card=activity_card(lang, activity, tz), **summary,
                )
        else:
            await notify.to_hr(
                conn, cfg, "attendance.notice.closed", now=at, kind="attendance.closed",
                dedupe_key=f"att:closed:{activity.pk}",
                card=activity_card(cfg.program.language, activity, tz), **summary,
            )
    return True


async def close_due(services: Services, now: dt.datetime) -> int:
    """Closes the roll of every activity that has ended (also those that ended while down)."""
    async with services.db.read() as conn:
        due = await activities_repo.due_to_close(conn, ts(now))
    closed = 0
    for activity in due:
        if await close_activity(services.db, services.config, activity, now):
            closed += 1
    return closed


# -- corrections ----------------------------------------------------------------------------

CorrectionOutcome = Literal["ok", "forbidden", "not_found", "not_started", "unchanged",
                            "not_participant"]


def can_correct(actor: Member, activity: Activity) -> bool:
    """HR corrects any record; a leader those of their own group's activities."""
    if not actor.active:
        return False
    if actor.is_hr:
        return True
    return (
        actor.is_leader
        and activity.type == "group_study"
        and activity.group_id is not None
        and activity.group_id == actor.group_id
    )


def can_view_roll(actor: Member, activity: Activity) -> bool:
    return can_correct(actor, activity)


@dataclass(frozen=True, slots=True)
class CorrectionResult:
    outcome: CorrectionOutcome
    activity: Activity | None = None
    member: Member | None = None
    old_status: str | None = None


async def correct(
    db: Database, cfg: Config, actor_pk: int, activity_pk: int, member_pk: int,
    new_status: str, reason: str, now: dt.datetime,
) -> CorrectionResult:
    """Changes a record with a reason; the audit row and the trainee's notice are written in
    the same transaction."""
    if new_status not in STATUSES:
        return CorrectionResult("not_found")
    at = ts(now)
    async with db.tx() as conn:
        actor = await members_repo.by_pk(conn, actor_pk)
        activity = await activities_repo.by_pk(conn, activity_pk)
        if actor is None or activity is None or activity.status != "scheduled":
            return CorrectionResult("not_found", activity)
        if not can_correct(actor, activity):
            return CorrectionResult("forbidden", activity)
        if parse_ts(activity.start_at) > now:
            return CorrectionResult("not_started", activity)
        member = await members_repo.by_pk(conn, member_pk)
        existing = await attendance_repo.get(conn, activity_pk, member_pk)
        if member is None or (existing is None and not takes_part(activity, member)):
            return CorrectionResult("not_participant", activity, member)
        if existing is not None and existing.status == new_status:
            return CorrectionResult("unchanged", activity, member, existing.status)
        old = await attendance_repo.correct(
            conn, activity_pk, member_pk, new_status, reason, actor.pk, at
        )
        lang = lang_of(member, cfg)
        none = t(lang, "attendance.none")
        await notify.to_member(
            conn, cfg, member, "attendance.notice.corrected", now=at,
            kind="attendance.corrected", title=activity.title,
            when=activity_when(lang, activity, cfg.tz),
            old=t(lang, f"attendance.status.{old}") if old else none,
            new=t(lang, f"attendance.status.{new_status}"), reason=reason, by=actor.name,
        )
    return CorrectionResult("ok", activity, member, old)


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


# -- reads for the handler ------------------------------------------------------------------


async def participants_roll(
    db: Database, activity: Activity
) -> tuple[list[Member], dict[int, Record]]:
    """The activity's participants and their records (for choosing whose to correct)."""
    async with db.read() as conn:
        return (await activities_repo.participants(conn, activity),
                await attendance_repo.roll(conn, activity.pk))


async def started(
    db: Database, now: dt.datetime, *, group_id: int | None = None, limit: int
) -> list[Activity]:
    """The activities that have started by `now`, the latest first (a group's only)."""
    async with db.read() as conn:
        return await activities_repo.started(conn, ts(now), group_id=group_id, limit=limit)


async def activity_by_pk(db: Database, pk: int) -> Activity | None:
    async with db.read() as conn:
        return await activities_repo.by_pk(conn, pk)


async def activity_by_id(db: Database, activity_id: str) -> Activity | None:
    async with db.read() as conn:
        return await activities_repo.by_activity_id(conn, activity_id)
