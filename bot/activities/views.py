"""What /attendance shows: a member's year and one activity's roll, each read in one go and
worded in the reader's language (the buttons under a roll are the handler's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.activities.rules import STATUSES, count_statuses
from bot.activities.scheduling import activity_card, local
from bot.core.i18n import t
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.activities import Activity
from storage.attendance import Correction, Record
from storage.db import Database, ts
from storage.models import Member

# How many earlier rolls of the group a roll offers, and how many activities a member's year lists.
RECENT_ROLLS = 6
RECENT_OWN = 8


def status_word(lang: str, status: str | None) -> str:
    if status is None:
        return t(lang, "attendance.status.none")
    return t(lang, f"attendance.status.{status}")


def hm(lang: str, tz: dt.tzinfo, text_ts: str | None) -> str:
    """A stored time as the local HH:MM ("—" when there is none)."""
    if not text_ts:
        return t(lang, "attendance.none")
    return local(text_ts, tz).strftime("%H:%M")


def counts_line(lang: str, statuses: Iterable[str]) -> str:
    counts = count_statuses(statuses)
    return " · ".join(
        t(lang, "attendance.view.count", status=status_word(lang, s), count=counts[s])
        for s in STATUSES
    )


def already_text(lang: str, tz: dt.tzinfo, activity: Activity, record: Record) -> str:
    """The member's record of `activity`, for a second check-in."""
    if record.checkin_at is None:
        return t(lang, "attendance.checkin.recorded", title=activity.title,
                 status=status_word(lang, record.status))
    return t(
        lang, "attendance.checkin.already", title=activity.title,
        at=hm(lang, tz, record.checkin_at), status=status_word(lang, record.status),
    )


# -- a member's year --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnYear:
    """A member's calendar year: every status of theirs and the latest activities with the
    member's record."""

    year: int
    statuses: list[str]
    latest: list[tuple[Activity, Record | None]]


async def own_year(db: Database, member: Member, now: dt.datetime) -> OwnYear:
    """The member's year of `now` (in `now`'s time zone, the programme's), in one read."""
    tz = now.tzinfo
    year_start = dt.datetime(now.year, 1, 1, tzinfo=tz)
    year_end = dt.datetime(now.year + 1, 1, 1, tzinfo=tz)
    async with db.read() as conn:
        statuses = await attendance_repo.member_statuses_between(
            conn, member.pk, ts(year_start), ts(year_end)
        )
        latest = await activities_repo.for_member(
            conn, member, start_to=ts(now), newest_first=True, limit=RECENT_OWN
        )
        records = await attendance_repo.for_member(conn, member.pk, [a.pk for a in latest])
    return OwnYear(now.year, statuses, [(a, records.get(a.pk)) for a in latest])


def own_text(lang: str, tz: dt.tzinfo, member: Member, year: OwnYear) -> str:
    """The member's year: counts per status and the latest activities."""
    lines = [t(lang, "attendance.view.own_header", name=member.name, year=year.year),
             counts_line(lang, year.statuses)]
    if not year.latest:
        lines.append(t(lang, "attendance.view.no_activities"))
        return "\n".join(lines)
    lines += ["", t(lang, "attendance.view.latest")]
    for a, rec in year.latest:
        lines.append(t(
            lang, "attendance.view.own_line", date=f"{local(a.start_at, tz):%m-%d %H:%M}",
            title=a.title, status=status_word(lang, rec.status if rec else None),
        ))
    return "\n".join(lines)


# -- an activity's roll -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollSheet:
    """One activity's roll: the participants (and anyone with a record who has left since),
    their records, the corrections, and the group's earlier activities to open."""

    people: list[Member]
    roll: dict[int, Record]
    corrections: list[Correction]
    earlier: list[Activity]


async def roll_sheet(db: Database, activity: Activity, now: dt.datetime) -> RollSheet:
    async with db.read() as conn:
        people = await activities_repo.participants(conn, activity)
        roll = await attendance_repo.roll(conn, activity.pk)
        fixes = await attendance_repo.corrections(conn, activity.pk)
        earlier = (
            await activities_repo.started(
                conn, ts(now), group_id=activity.group_id, limit=RECENT_ROLLS,
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
    return RollSheet(people, roll, fixes, earlier)


def _roll_line(lang: str, tz: dt.tzinfo, person: Member, rec: Record | None, pending: str) -> str:
    if rec is None:
        return t(lang, "attendance.view.roll_line", name=person.name,
                 member_id=person.member_id, status=t(lang, pending), times="")
    times = ""
    if rec.checkin_at:
        times = t(lang, "attendance.view.times", checkin=hm(lang, tz, rec.checkin_at),
                  checkout=hm(lang, tz, rec.checkout_at))
    if rec.note:
        times += t(lang, "attendance.view.note", note=rec.note)
    return t(lang, "attendance.view.roll_line", name=person.name, member_id=person.member_id,
             status=status_word(lang, rec.status), times=times)


def roll_text(lang: str, tz: dt.tzinfo, activity: Activity, sheet: RollSheet) -> str:
    """Every participant's status, the counts, and the corrections with who made them."""
    pending = "attendance.status.none" if activity.closed_at is None else (
        "attendance.status.unrecorded")
    lines = [activity_card(lang, activity, tz), ""]
    lines += [_roll_line(lang, tz, p, sheet.roll.get(p.pk), pending) for p in sheet.people]
    lines += ["", counts_line(lang, (r.status for r in sheet.roll.values()))]
    if sheet.corrections:
        names = {p.pk: p.name for p in sheet.people}
        lines += ["", t(lang, "attendance.view.corrections")]
        for f in sheet.corrections:
            lines.append(t(
                lang, "attendance.view.correction_line", at=f"{local(f.at, tz):%m-%d %H:%M}",
                by=f.actor_name, name=names.get(f.member_pk, "?"),
                old=status_word(lang, f.old_status), new=status_word(lang, f.new_status),
                reason=f.reason,
            ))
    return "\n".join(lines)
