"""Leave rules as tables: routing, the cutoff, reasons, who decides, withdrawal, reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.leave import rules

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=TZ)


def m(minutes: float) -> dt.datetime:
    """START shifted by `minutes`."""
    return START + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("activity_type", "activity_group", "role", "group", "has_leader", "expected"),
    [
        ("group_study", 1, "trainee", 1, True, "leader"),
        ("group_study", 1, "trainee", 1, False, "hr"),  # no active leader
        ("group_study", 1, "leader", 1, True, "hr"),  # a leader's own leave
        ("group_study", 1, "leader", 2, True, "leader"),  # (another group's leader)
        ("group_study", None, "trainee", 1, True, "hr"),  # a group study without a group
        ("collective", None, "trainee", 1, True, "hr"),
        ("exam", None, "trainee", 1, True, "hr"),
        ("online", None, "leader", 1, True, "hr"),
    ],
)
def test_route_for(
    activity_type: str, activity_group: int | None, role: str, group: int | None,
    has_leader: bool, expected: str,
) -> None:
    assert rules.route_for(activity_type, activity_group, role, group, has_leader) == expected


@pytest.mark.parametrize(
    ("now", "cutoff", "expected"),
    [
        (m(-1), 0, True),
        (m(0), 0, False),  # at the start it is too late
        (m(1), 0, False),
        (m(-61), 60, True),
        (m(-60), 60, False),  # exactly at start - cutoff: too late
        (m(-30), 60, False),
        (m(-10_000), 1440, True),
    ],
)
def test_in_time(now: dt.datetime, cutoff: int, expected: bool) -> None:
    assert rules.in_time(now, START, cutoff) is expected


def test_deadline() -> None:
    assert rules.deadline(START, 90) == m(-90)
    assert rules.deadline(START, -5) == START  # a negative cutoff is no cutoff


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("家中有事", 500, "ok"),
        ("", 500, "empty"),
        ("   \n ", 500, "empty"),
        ("很" * 500, 500, "ok"),
        ("很" * 501, 500, "too_long"),
        ("  " + "很" * 500 + "  ", 500, "ok"),  # surrounding blanks do not count
        ("abc", 2, "too_long"),
    ],
)
def test_check_reason(text: str, limit: int, expected: str) -> None:
    assert rules.check_reason(text, limit) == expected


LEADER_1 = {"actor_pk": 10, "actor_role": "leader", "actor_group_id": 1, "actor_active": True}
LEADER_2 = {"actor_pk": 20, "actor_role": "leader", "actor_group_id": 2, "actor_active": True}
TRAINEE_1 = {"actor_pk": 11, "actor_role": "trainee", "actor_group_id": 1, "actor_active": True}
HR = {"actor_pk": 90, "actor_role": "hr", "actor_group_id": None, "actor_active": True}
GONE_HR = {**HR, "actor_active": False}


@pytest.mark.parametrize(
    ("actor", "route", "activity_group", "requester", "expected"),
    [
        (LEADER_1, "leader", 1, 11, True),  # the routed leader
        (LEADER_2, "leader", 1, 11, False),  # another group's leader
        (TRAINEE_1, "leader", 1, 12, False),  # a trainee
        (HR, "leader", 1, 11, True),  # HR decides everything
        (HR, "hr", None, 11, True),
        (LEADER_1, "hr", 1, 11, False),  # routed to HR: not the leader's
        (LEADER_1, "hr", 1, 10, False),  # the leader's own request
        (GONE_HR, "hr", None, 11, False),  # deactivated
        ({**LEADER_1, "actor_pk": 11}, "leader", 1, 11, False),  # nobody decides their own
    ],
)
def test_may_decide(
    actor: dict[str, object], route: str, activity_group: int | None, requester: int,
    expected: bool,
) -> None:
    assert rules.may_decide(
        route=route, activity_group_id=activity_group, requester_pk=requester,
        **actor,  # type: ignore[arg-type]
    ) is expected


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        ("pending", m(-60), True),
        ("pending", m(60), True),  # undecided: may be withdrawn any time
        ("approved", m(-1), True),
        ("approved", m(0), False),  # the activity has started
        ("rejected", m(-60), False),
        ("withdrawn", m(-60), False),
        ("void", m(-60), False),
    ],
)
def test_may_withdraw(state: str, now: dt.datetime, expected: bool) -> None:
    assert rules.may_withdraw(state, now, START) is expected


@pytest.mark.parametrize(
    ("now", "created", "before", "expected"),
    [
        (m(-121), m(-600), 120, "wait"),
        (m(-120), m(-600), 120, "send"),  # exactly at start - 120 min
        (m(-30), m(-600), 120, "send"),  # late after downtime, before the start: still useful
        (m(0), m(-600), 120, "skip"),  # started: the escalation takes over
        (m(-100), m(-110), 120, "skip"),  # asked after the reminder's moment
        (m(-120), m(-120), 120, "skip"),
        (m(-120), m(-600), 0, "skip"),  # reminders off
    ],
)
def test_reminder_verdict(
    now: dt.datetime, created: dt.datetime, before: int, expected: str
) -> None:
    assert rules.reminder_verdict(now, START, created, before) == expected


@pytest.mark.parametrize(
    ("now", "created", "expected"),
    [
        (m(-1), m(-600), "wait"),
        (m(0), m(-600), "send"),
        (m(600), m(-600), "send"),  # after downtime: once, late
        (m(30), m(10), "skip"),  # recorded after the start (HR's /excuse)
    ],
)
def test_escalation_verdict(now: dt.datetime, created: dt.datetime, expected: str) -> None:
    assert rules.escalation_verdict(now, START, created) == expected


def test_reminder_at() -> None:
    assert rules.reminder_at(START, 120) == m(-120)
    assert rules.reminder_at(START, 0) is None


def test_year_bounds() -> None:
    lo, hi = rules.year_bounds(dt.datetime(2026, 12, 31, 23, 59, tzinfo=TZ))
    assert (lo, hi) == (dt.datetime(2026, 1, 1, tzinfo=TZ), dt.datetime(2027, 1, 1, tzinfo=TZ))


@given(minutes=st.integers(-5000, 5000), cutoff=st.integers(0, 3000))
def test_in_time_means_before_the_deadline(minutes: int, cutoff: int) -> None:
    now = m(minutes)
    assert rules.in_time(now, START, cutoff) == (now < rules.deadline(START, cutoff))
    # A longer cutoff never lets in a request a shorter one refused.
    if rules.in_time(now, START, cutoff + 1):
        assert rules.in_time(now, START, cutoff)


@given(now=st.integers(-3000, 3000), created=st.integers(-3000, 3000),
       before=st.integers(0, 1440))
def test_reminder_and_escalation_never_both_send(now: int, created: int, before: int) -> None:
    reminder = rules.reminder_verdict(m(now), START, m(created), before)
    escalation = rules.escalation_verdict(m(now), START, m(created))
    assert not (reminder == "send" and escalation == "send")
