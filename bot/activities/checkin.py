"""A check-in as one call: `attempt` takes what the user gave and answers with an `Attempt`.

What the user gives, by `step`: `/checkin` with or without a code ("command"), a press on one
of several open activities ("pick"), the code typed at the prompt ("code"), a shared location
("location"), the host's QR deep link ("link"). `attempt` decides which activity, checks the
code or QR token (and counts wrong codes towards the lockout), the location, and the window,
writes the record through `roll_call.check_in` (one short transaction) and returns what the
handler renders: the input to ask for next (the code, the location, which activity), or how
the check-in ended. Which dialog step comes next is part of the answer (`Attempt.dialog`), so
the handler only stores it.

Two times: `now`, the programme clock's when the update is handled, and `sent_at`, when the
member sent it (bot.delivery.inbox.sent_at: Telegram's date on the message, never after `now`).
What was open, whether the code was current, present or late, and the record's check-in time
are judged at `sent_at`, so members who checked in on time are not made late (or shut out) by
an outage, a restart or a replay. What happens on the bot's side is at `now`: wrong-code tries
and the lockout (they count arrivals), and a shared location's freshness (its own stamp,
`SharedLocation.sent_at`, against `now`, as before).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.activities import roll_call
from bot.activities.roll_call import Source
from bot.activities.rules import (
    check_code,
    check_token,
    distance_m,
    location_verdict,
    looks_like_code,
    normalize_code,
    parse_token,
)
from bot.activities.scheduling import rules_of
from bot.core.clock import as_sent
from bot.core.config import Config
from storage import activities as activities_repo
from storage.activities import Activity, takes_part
from storage.attendance import Record
from storage.db import Database
from storage.models import Member

Step = Literal["command", "pick", "code", "location", "link"]

AttemptKind = Literal[
    "recorded",  # the record was written: `record.status` is present or late
    "already",  # the member has a record for `activity` already
    "pick",  # several activities are open: choose one of `choices`
    "ask_code",  # in person: the code is needed
    "not_a_code",  # what was typed at the prompt is not shaped like a code
    "code_wrong",
    "code_expired",
    "locked",  # too many wrong codes: no tries until `until`
    "ask_location",  # the code (or QR) was right; the location is needed
    "need_location",  # the location step got something else
    "location_forwarded",
    "location_stale",
    "outside",  # `distance` metres away, `radius` allowed
    "closed",  # `activity`'s window has closed (it ended at `activity.end_at`)
    "too_early",
    "not_participant",
    "gone",  # cancelled, or no such activity
    "nothing",  # nothing open, nothing scheduled for the member
    "nothing_next",  # nothing open; `activity` is the member's next one
    "bad_link",
    "qr_expired",
    "vanished",  # the dialog's activity no longer exists: end it without a word
]

# What the handler does with the user's dialog: wait for the code, wait for the location, end
# it, or (None) leave it as it is.
DialogMove = Literal["code", "location", "end"] | None


@dataclass(frozen=True, slots=True)
class SharedLocation:
    """A location the user sent: where, whether it was forwarded, when Telegram stamped it."""

    latitude: float
    longitude: float
    forwarded: bool
    sent_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """How a check-in attempt ended, or which input it needs next."""

    kind: AttemptKind
    activity: Activity | None = None
    record: Record | None = None
    dialog: DialogMove = None
    # Set once a record was attempted: the proof it was made with (the handler takes the
    # location keyboard away after an in-person one).
    source: Source | None = None
    choices: tuple[Activity, ...] = ()
    code: str | None = None  # "pick": the code typed with /checkin, carried on the buttons
    until: dt.datetime | None = None  # "locked"
    distance: float = 0.0  # "outside"
    radius: float = 0.0  # "outside"


@dataclass(frozen=True, slots=True)
class _When:
    """When the step is handled (`now`) and when the member sent it (`sent`, never later)."""

    now: dt.datetime
    sent: dt.datetime


async def attempt(
    db: Database, cfg: Config, now: dt.datetime, member: Member, *,
    step: Step = "command", activity_pk: int | None = None, code: str | None = None,
    token: str | None = None, location: SharedLocation | None = None, source: Source = "code",
    sent_at: dt.datetime | None = None,
) -> Attempt:
    """One check-in step for `member`, handled at `now`, sent at `sent_at` (None: `now`).

    "command": `code` is what followed /checkin (may be None); "pick": `activity_pk` was chosen
    and `code` is the one its button carries; "code": `code` is the text typed at the prompt
    for `activity_pk`; "location": `location` was sent for `activity_pk` after `source`
    proved presence (None when the message held no location); "link": `token` is the QR's
    deep-link payload.
    """
    when = _When(now, as_sent(sent_at, now))
    if step == "command":
        return await _command(db, cfg, when, member, normalize_code(code or "") or None)
    if step == "link":
        assert token is not None
        return await _link(db, cfg, when, member, token)
    assert activity_pk is not None
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
    if activity is None:
        return Attempt("vanished", dialog="end")
    if step == "pick":
        records = await roll_call.records_of(db, member, [activity])
        if activity.pk in records:
            return Attempt("already", activity, records[activity.pk])
        return await _with_activity(db, cfg, when, member, activity, code)
    if step == "code":
        if not code or not looks_like_code(code):
            return Attempt("not_a_code", activity)
        return await _with_activity(db, cfg, when, member, activity, normalize_code(code))
    return await _located(db, cfg, when, member, activity, location, source)


async def _command(
    db: Database, cfg: Config, when: _When, member: Member, code: str | None
) -> Attempt:
    """/checkin [code]: the member's activity open when it was sent (the choice when several
    were)."""
    open_ = await roll_call.open_for(db, cfg, member, when.sent)
    if not open_:
        return await _nothing_open(db, cfg, when, member, code)
    pending = [a for a, rec in open_ if rec is None]
    if not pending:
        a, rec = open_[0]
        return Attempt("already", a, rec)
    if len(pending) > 1:
        carried = code if code and looks_like_code(code) else None
        return Attempt("pick", choices=tuple(pending), code=carried)
    return await _with_activity(db, cfg, when, member, pending[0], code)


async def _nothing_open(
    db: Database, cfg: Config, when: _When, member: Member, code: str | None
) -> Attempt:
    """No open activity of the member's when it was sent: why, as precisely as we can tell."""
    now = when.sent
    if code and looks_like_code(code):
        rules = rules_of(cfg.checkin)
        # A right code of someone else's activity: say it is not theirs, not "nothing open".
        for other in await roll_call.open_activities(db, cfg, now):
            if other.has_venue and check_code(other.secret, code, now, rules) != "wrong":
                return Attempt("not_participant", other)
    ended = await roll_call.recently_closed_for(db, member, now)
    if ended is not None:
        rec = (await roll_call.records_of(db, member, [ended])).get(ended.pk)
        if rec is not None and rec.checkin_at is not None:
            return Attempt("already", ended, rec)
        return Attempt("closed", ended)
    upcoming = await roll_call.next_for(db, member, now)
    if upcoming is None:
        return Attempt("nothing")
    return Attempt("nothing_next", upcoming)


async def _with_activity(
    db: Database, cfg: Config, when: _When, member: Member, activity: Activity,
    code: str | None,
) -> Attempt:
    """Checks in to `activity`: online at once; in person with the code (asked for if missing),
    which must have been current when it was sent."""
    if not activity.has_venue:
        return await _record(db, cfg, when, member, activity, "online")
    locked = await roll_call.code_locked_until(db, cfg, activity.pk, member.pk, when.now)
    if locked is not None:
        return Attempt("locked", activity, dialog="end", until=locked)
    if code is None:
        return Attempt("ask_code", activity, dialog="code")
    verdict = check_code(activity.secret, code, when.sent, rules_of(cfg.checkin))
    if verdict == "wrong":
        locked = await roll_call.wrong_code(db, cfg, activity.pk, member.pk, when.now)
        if locked is not None:
            return Attempt("locked", activity, dialog="end", until=locked)
        return Attempt("code_wrong", activity, dialog="code")
    if verdict == "expired":
        return Attempt("code_expired", activity, dialog="code")
    return await _after_proof(db, cfg, when, member, activity, "code")


async def _link(
    db: Database, cfg: Config, when: _When, member: Member, token: str
) -> Attempt:
    """The host's QR: a genuine token of the current slot counts as a right code."""
    parsed = parse_token(token)
    if parsed is None:
        return Attempt("bad_link")
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, parsed.activity_pk)
    if activity is None:
        return Attempt("bad_link")
    if activity.status != "scheduled":
        return Attempt("gone", activity)
    if not takes_part(activity, member):
        return Attempt("not_participant", activity)
    verdict = check_token(activity.secret, parsed, when.sent, rules_of(cfg.checkin))
    if verdict == "wrong":
        return Attempt("bad_link", activity)
    records = await roll_call.records_of(db, member, [activity])
    if activity.pk in records:
        return Attempt("already", activity, records[activity.pk])
    if verdict == "expired":
        return Attempt("qr_expired", activity)
    return await _after_proof(db, cfg, when, member, activity, "qr")


async def _after_proof(
    db: Database, cfg: Config, when: _When, member: Member, activity: Activity,
    source: Source,
) -> Attempt:
    """The code (or QR) was right: ask for the location where needed, else record."""
    if cfg.checkin.require_location and activity.has_coordinates:
        records = await roll_call.records_of(db, member, [activity])
        if activity.pk in records:
            return Attempt("already", activity, records[activity.pk], dialog="end")
        return Attempt("ask_location", activity, dialog="location", source=source)
    return await _record(db, cfg, when, member, activity, source)


async def _located(
    db: Database, cfg: Config, when: _When, member: Member, activity: Activity,
    location: SharedLocation | None, source: Source,
) -> Attempt:
    """The location after the code: the member's own, fresh, and within the radius."""
    if location is None:
        return Attempt("need_location", activity)
    c = cfg.checkin
    assert activity.lat is not None and activity.lon is not None
    distance = distance_m(activity.lat, activity.lon, location.latitude, location.longitude)
    radius = activity.radius_m or c.radius_m
    verdict = location_verdict(
        forwarded=location.forwarded, sent_at=location.sent_at, now=when.now,
        max_age=dt.timedelta(seconds=c.location_max_age_seconds), distance=distance,
        radius_m=radius,
    )
    if verdict == "outside":
        return Attempt("outside", activity, distance=distance, radius=radius)
    if verdict == "forwarded":
        return Attempt("location_forwarded", activity)
    if verdict == "stale":
        return Attempt("location_stale", activity)
    return await _record(db, cfg, when, member, activity, source)


async def _record(
    db: Database, cfg: Config, when: _When, member: Member, activity: Activity,
    source: Source,
) -> Attempt:
    """Writes the record (the activity and member just read make it one guarded INSERT)."""
    result = await roll_call.check_in(
        db, cfg, activity.pk, member.pk, when.now, source, activity=activity, member=member,
        sent_at=when.sent,
    )
    # The handler words the answer from the activity it knew (as read before the insert).
    if result.outcome == "ok":
        return Attempt("recorded", activity, result.record, dialog="end", source=source)
    if result.outcome == "already" and result.record is not None:
        return Attempt("already", activity, result.record, dialog="end", source=source)
    kind: AttemptKind = "gone" if result.outcome == "already" else result.outcome
    return Attempt(kind, activity, dialog="end", source=source)
