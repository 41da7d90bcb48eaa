"""Leave rules: routing, the cutoff, who may decide, withdrawal, reminders and escalation.

Pure functions only (no Telegram, no SQL), so each rule is a row in a unit-test table; the
flow (bot/leave/flow.py) feeds them what it read from the database in the same transaction.

- Routing: a group study goes to that group's leader; every other type goes to HR. A leader's
  own request for the group's activity goes to HR, and so does one of a group with no active
  leader.
- The cutoff: a request must arrive before the start minus `[leave] cutoff_minutes`.
- Deciding: HR decides any request; the leader decides the requests routed to the leader of
  the activity's group (the current leader: a change of leader hands over the queue). Nobody
  decides their own request.
- Withdrawal: a pending request any time, an approved one before the start.
- Reminders: a request still pending `remind_before_minutes` before the start reminds the
  approver (unless it arrived after that moment: the approver was just asked); one still
  pending at the start is escalated to HR (unless it was recorded after the start).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Route = Literal["leader", "hr"]
State = Literal["pending", "approved", "rejected", "withdrawn", "void"]
STATES: tuple[State, ...] = ("pending", "approved", "rejected", "withdrawn", "void")
# States that hold the (member, activity) slot: a new request waits for these to end.
OPEN_STATES: frozenset[str] = frozenset({"pending", "approved"})

MAX_REASON_CHARS = 500


def route_for(
    activity_type: str,
    activity_group_id: int | None,
    requester_role: str,
    requester_group_id: int | None,
    group_has_leader: bool,
) -> Route:
    """Whom a request goes to: the group's leader for a group study, else HR."""
    if activity_type != "group_study" or activity_group_id is None:
        return "hr"
    if requester_role == "leader" and requester_group_id == activity_group_id:
        return "hr"  # a leader does not approve their own leave
    return "leader" if group_has_leader else "hr"


def deadline(start: dt.datetime, cutoff_minutes: int) -> dt.datetime:
    """The moment a request must arrive before."""
    return start - dt.timedelta(minutes=max(0, cutoff_minutes))


def in_time(now: dt.datetime, start: dt.datetime, cutoff_minutes: int) -> bool:
    """Whether a request made at `now` is in time for an activity starting at `start`."""
    return now < deadline(start, cutoff_minutes)


ReasonVerdict = Literal["ok", "empty", "too_long"]


def check_reason(text: str, max_chars: int = MAX_REASON_CHARS) -> ReasonVerdict:
    """A reason must say something and fit in `max_chars` characters."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if len(stripped) > max_chars:
        return "too_long"
    return "ok"


def may_decide(
    *,
    actor_pk: int,
    actor_role: str,
    actor_group_id: int | None,
    actor_active: bool,
    route: str,
    activity_group_id: int | None,
    requester_pk: int,
) -> bool:
    """Whether the actor may approve or reject the request (checked against the database)."""
    if not actor_active or actor_pk == requester_pk:
        return False
    if actor_role == "hr":
        return True
    return (
        route == "leader"
        and actor_role == "leader"
        and activity_group_id is not None
        and actor_group_id == activity_group_id
    )


def may_withdraw(state: str, now: dt.datetime, start: dt.datetime) -> bool:
    """A pending request any time; an approved one until the activity starts."""
    if state == "pending":
        return True
    return state == "approved" and now < start


def reminder_at(start: dt.datetime, remind_before_minutes: int) -> dt.datetime | None:
    """When the approver is reminded of a pending request (None: reminders are off)."""
    if remind_before_minutes <= 0:
        return None
    return start - dt.timedelta(minutes=remind_before_minutes)


ReminderVerdict = Literal["wait", "send", "skip"]


def reminder_verdict(
    now: dt.datetime, start: dt.datetime, created: dt.datetime, remind_before_minutes: int
) -> ReminderVerdict:
    """What to do about the approver's reminder of a request still pending at `now`:
    wait (not yet), send, or skip for good (off, asked after the reminder's moment, or the
    activity has started: escalation takes over)."""
    at = reminder_at(start, remind_before_minutes)
    if at is None or created >= at:
        return "skip"
    if now < at:
        return "wait"
    return "send" if now < start else "skip"


def escalation_verdict(
    now: dt.datetime, start: dt.datetime, created: dt.datetime
) -> ReminderVerdict:
    """HR is told of a request still pending at the start, unless it was recorded after it."""
    if created >= start:
        return "skip"
    return "send" if now >= start else "wait"


def year_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The local calendar year of `now` as [1 Jan, next 1 Jan)."""
    tz = now.tzinfo
    return (dt.datetime(now.year, 1, 1, tzinfo=tz), dt.datetime(now.year + 1, 1, 1, tzinfo=tz))
