"""Schedule import: HR's activity list (.csv or .xlsx) checked as a whole, then upserted all or
nothing.

Columns `activity_id,type,title,group,start,end,location,lat,lon,host_member_id` (and an
optional `radius_m`). `start`/`end` are a date and a time as Excel and people write them
(`2026-03-02 15:30`, `2026/3/2 15:30`, `2026年3月2日 15:30`, ISO 8601, Excel date cells and
serial numbers: `bot.documents.tables.parse_datetime`) in the programme's time zone.
Validation is a pure function over the rows and what the database knows (groups, members)
and reports every problem at once as "line N: reason".

The import is an upsert by `activity_id`: importing the same file twice changes nothing.
A group study without a host gets one by rotation (an existing host is kept). An activity
cancelled in chat stays cancelled. An activity that has already ended when it is first
imported is recorded as closed without a roll call (nobody could have checked in, so nobody
is marked absent); it took place without the bot, so it never earns or demands anything: no
hosting credit (bot.credits.sync counts hosting only for a roll call with somebody there, or a
filed report) and no report is due for it (storage.reports). Participants of new or changed
upcoming activities get one message each listing them.

The file is the whole schedule from now on: imported activities that have not started and are
not in it are listed, and cancelled only when HR asks (`--cancel-missing`), their participants
told as for a cancel in chat. Started and past activities, and those leaders created in chat,
are never touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.activities.rules import ACTIVITY_TYPES, valid_coordinates
from bot.activities.scheduling import (
    LOCATION_MAX,
    TITLE_MAX,
    activity_card,
    hosts_in_order,
    new_secret,
    notify_participants,
)
from bot.core.config import Config
from bot.core.i18n import DEFAULT_LANGUAGE, lang_of, t
from bot.delivery import notify
from bot.documents.imports import (
    ImportSession,
    Problem,
    TableImport,
    headed,
    run_table_import,
)
from bot.documents.tables import TableRow, finite_number, parse_datetime
from storage import activities as activities_repo
from storage.activities import Activity
from storage.db import Database, ts
from storage.models import Member

REQUIRED_COLUMNS: tuple[str, ...] = (
    "activity_id", "type", "title", "group", "start", "end", "location", "lat", "lon",
    "host_member_id",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("radius_m",)
ACTIVITY_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
RADIUS_MAX = 10_000

TYPE_ALIASES: Mapping[str, str] = {
    **{name: name for name in ACTIVITY_TYPES},
    "小组学习": "group_study",
    "小组活动": "group_study",
    "集中培训": "collective",
    "集体活动": "collective",
    "考试": "exam",
    "线上": "online",
    "线上活动": "online",
}


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What validation needs to know about a member."""

    group: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One validated schedule line."""

    line: int
    activity_id: str
    type: str
    title: str
    group: str | None
    start: dt.datetime
    end: dt.datetime
    location: str
    lat: float | None
    lon: float | None
    radius_m: int | None
    host_member_id: str | None


@dataclass(slots=True)
class ScheduleResult:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept_cancelled: list[str] = field(default_factory=list)
    closed_on_import: list[str] = field(default_factory=list)
    # Upcoming imported activities the file no longer lists: left alone, or cancelled with
    # `--cancel-missing`.
    missing: list[str] = field(default_factory=list)
    cancelled_missing: list[str] = field(default_factory=list)
    notified: int = 0


def parse_when(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """A date and time as `parse_datetime` reads it, local to `tz` unless it names an offset."""
    when = parse_datetime(text)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when


def _collector(found: list[tuple[str, str]], lang: str) -> Callable[..., None]:
    """A function adding the reason `attendance.import.<key>` to `found` as (key, text)."""

    def bad(key: str, **params: Any) -> None:
        found.append((key, t(lang, f"attendance.import.{key}", **params)))

    return bad


def validate_schedule(
    rows: list[TableRow],
    *,
    groups: set[str] | frozenset[str],
    members: Mapping[str, MemberInfo],
    tz: dt.tzinfo,
    lang: str = DEFAULT_LANGUAGE,
) -> tuple[list[ScheduleEntry], list[str]]:
    """The entries of `rows` and every problem found, each "line N: reason" in `lang`.

    Entries are only meaningful when the problem list is empty.
    """
    problems: list[tuple[int, str]] = []
    entries: list[ScheduleEntry] = []
    first_line: dict[str, int] = {}
    for row in rows:
        found: list[tuple[str, str]] = []
        entry = _check_row(row, _collector(found, lang), first_line, groups, members, tz)
        problems.extend(
            (row.line, Problem(t(lang, "roster.line", line=row.line, reason=r), row.line, key))
            for key, r in found
        )
        if not found and entry is not None:
            entries.append(entry)
    result = [msg for _, msg in sorted(problems, key=lambda p: p[0])]
    if not rows:
        result.append(t(lang, "attendance.import.no_rows"))
    return entries, result


def _check_row(
    row: TableRow, bad: Callable[..., None], first_line: dict[str, int],
    groups: set[str] | frozenset[str], members: Mapping[str, MemberInfo], tz: dt.tzinfo,
) -> ScheduleEntry | None:
    """One line's entry; its problems go to `bad` (the entry counts only when there are none)."""
    v = row.values
    activity_id = v.get("activity_id", "").strip()
    if not activity_id:
        bad("empty_id")
    elif not ACTIVITY_ID_SHAPE.match(activity_id):
        bad("bad_id", activity_id=activity_id)
    elif activity_id in first_line:
        bad("duplicate_id", activity_id=activity_id, first=first_line[activity_id])
    else:
        first_line[activity_id] = row.line

    type_text = v.get("type", "").strip()
    kind = TYPE_ALIASES.get(type_text.casefold()) or TYPE_ALIASES.get(type_text)
    if kind is None:
        bad("unknown_type", type=type_text, types=", ".join(ACTIVITY_TYPES))

    title = v.get("title", "").strip()
    if not title:
        bad("empty_title")
    elif len(title) > TITLE_MAX:
        bad("too_long", column="title", length=len(title), limit=TITLE_MAX)

    group = v.get("group", "").strip()
    if kind == "group_study":
        if not group:
            bad("missing_group")
        elif group not in groups:
            bad("unknown_group", group=group)
    elif kind is not None and group:
        bad("group_not_allowed", type=kind, group=group)

    start_text, end_text = v.get("start", "").strip(), v.get("end", "").strip()
    start = parse_when(start_text, tz)
    end = parse_when(end_text, tz)
    if start is None:
        bad("bad_date", column="start", value=start_text)
    if end is None:
        bad("bad_date", column="end", value=end_text)
    if start is not None and end is not None and end <= start:
        bad("end_before_start", start=start_text, end=end_text)

    location = v.get("location", "").strip()
    if len(location) > LOCATION_MAX:
        bad("too_long", column="location", length=len(location), limit=LOCATION_MAX)

    lat, lon, radius = _venue(v, kind, bad)

    host_id = v.get("host_member_id", "").strip()
    if host_id:
        info = members.get(host_id)
        if info is None or not info.active:
            bad("unknown_host", member_id=host_id)
        elif kind == "group_study" and group and info.group != group:
            bad("host_not_in_group", member_id=host_id, group=group)

    if kind is None or start is None or end is None:
        return None
    return ScheduleEntry(
        line=row.line, activity_id=activity_id, type=kind, title=title,
        group=group or None, start=start, end=end, location=location,
        lat=lat, lon=lon, radius_m=radius, host_member_id=host_id or None,
    )


def _venue(
    v: Mapping[str, str], kind: str | None, bad: Callable[..., None]
) -> tuple[float | None, float | None, int | None]:
    """The coordinates and check-in radius of a line (None where not given or not valid)."""
    lat_text, lon_text = v.get("lat", "").strip(), v.get("lon", "").strip()
    radius_text = v.get("radius_m", "").strip()
    lat = lon = None
    radius: int | None = None
    if lat_text or lon_text:
        lat, lon = finite_number(lat_text), finite_number(lon_text)
        if lat is None or lon is None or not valid_coordinates(lat, lon):
            bad("bad_coordinates", lat=lat_text, lon=lon_text)
            lat = lon = None
        elif kind == "online":
            bad("online_coordinates")
    if radius_text:
        number = finite_number(radius_text)
        if number is None or not number.is_integer() or not 1 <= number <= RADIUS_MAX:
            bad("bad_radius", value=radius_text, limit=RADIUS_MAX)
        elif not (lat_text or lon_text):
            bad("radius_without_coordinates")
        else:
            radius = int(number)
    return lat, lon, radius


async def directory(conn: aiosqlite.Connection) -> tuple[set[str], dict[str, MemberInfo]]:
    """The group names and members validation checks against."""
    groups = set((await activities_repo.group_ids_by_name(conn)).keys())
    rows = await conn.execute_fetchall(
        "SELECT m.member_id, m.active, g.name AS group_name FROM members m"
        " LEFT JOIN groups g ON g.id = m.group_id"
    )
    members = {
        str(r["member_id"]): MemberInfo(r["group_name"], bool(r["active"])) for r in rows
    }
    return groups, members


def _fields(
    e: ScheduleEntry, group_id: int | None, host_pk: int | None
) -> dict[str, Any]:
    return {
        "type": e.type, "title": e.title, "group_id": group_id, "start_at": ts(e.start),
        "end_at": ts(e.end), "location": e.location, "lat": e.lat, "lon": e.lon,
        "radius_m": e.radius_m, "host_pk": host_pk,
    }


def _current(a: Activity) -> dict[str, Any]:
    return {
        "type": a.type, "title": a.title, "group_id": a.group_id, "start_at": a.start_at,
        "end_at": a.end_at, "location": a.location, "lat": a.lat, "lon": a.lon,
        "radius_m": a.radius_m, "host_pk": a.host_pk,
    }


async def import_schedule(
    db: Database, cfg: Config, entries: list[ScheduleEntry], now: dt.datetime,
    *, cancel_missing: bool = False,
) -> ScheduleResult:
    """Upserts validated entries in one transaction and notifies the people concerned.

    Imported activities that have not started and are not in `entries` are listed in
    `missing`; with `cancel_missing` they are cancelled instead (`cancelled_missing`) and
    their participants told, as when a leader cancels in chat. Started, past and
    chat-created activities are never touched."""
    at = ts(now)
    result = ScheduleResult()
    touched: list[int] = []
    async with db.tx() as conn:
        group_ids = await activities_repo.group_ids_by_name(conn)
        member_pks = {
            str(r["member_id"]): int(r["id"])
            for r in await conn.execute_fetchall("SELECT id, member_id FROM members")
        }
        existing = await activities_repo.by_activity_ids(conn, (e.activity_id for e in entries))
        for e in sorted(entries, key=lambda x: (x.start, x.line)):
            group_id = group_ids[e.group] if e.group else None
            old = existing.get(e.activity_id)
            host_pk = member_pks[e.host_member_id] if e.host_member_id else None
            if host_pk is None and old is not None and old.group_id == group_id:
                host_pk = old.host_pk
            if host_pk is None and e.type == "group_study" and group_id is not None:
                # Rotation sees the hosts assigned earlier in this same import (same transaction).
                order = await hosts_in_order(conn, group_id)
                host_pk = order[0].pk if order else None
            values = _fields(e, group_id, host_pk)
            if old is None:
                ended = e.end <= now
                pk = await activities_repo.insert(
                    conn, activity_id=e.activity_id, secret=new_secret(), source="import",
                    created_by=None, now=at, closed_at=at if ended else None, **values,
                )
                result.added.append(e.activity_id)
                if ended:
                    result.closed_on_import.append(e.activity_id)
                else:
                    touched.append(pk)
                continue
            if old.status == "cancelled":
                result.kept_cancelled.append(e.activity_id)
                continue
            if _current(old) == values:
                result.unchanged += 1
                continue
            await activities_repo.update_fields(conn, old.pk, now=at, **values)
            result.changed.append(e.activity_id)
            if e.end > now:
                touched.append(old.pk)
        result.notified = await _notify(conn, cfg, touched, at)
        listed = {e.activity_id for e in entries}
        for gone in await activities_repo.upcoming_imported(conn, at):
            if gone.activity_id in listed:
                continue
            if not cancel_missing:
                result.missing.append(gone.activity_id)
            elif await activities_repo.cancel(conn, gone.pk, at):
                result.cancelled_missing.append(gone.activity_id)
                result.notified += await notify_participants(conn, cfg, gone, "cancelled", at)
    return result


async def _notify(conn: aiosqlite.Connection, cfg: Config, pks: list[int], at: str) -> int:
    """One message per person listing their new or changed upcoming activities."""
    per_member: dict[int, tuple[Member, list[Activity]]] = {}
    for pk in pks:
        activity = await activities_repo.by_pk(conn, pk)
        assert activity is not None
        for member in await activities_repo.participants(conn, activity):
            per_member.setdefault(member.pk, (member, []))[1].append(activity)
    sent = 0
    for member, acts in per_member.values():
        lang = lang_of(member, cfg)
        acts.sort(key=lambda a: a.start_at)
        shown = acts[:10]
        cards = "\n\n".join(activity_card(lang, a, cfg.tz) for a in shown)
        if len(acts) > len(shown):
            cards += "\n\n" + t(lang, "attendance.notice.and_more", count=len(acts) - len(shown))
        row = await notify.to_member(
            conn, cfg, member, "attendance.notice.imported", now=at,
            kind="attendance.imported", count=len(acts), cards=cards,
        )
        sent += row is not None
    return sent


def format_result(result: ScheduleResult, lang: str) -> list[str]:
    def ids(items: list[str]) -> str:
        return ", ".join(items) if items else t(lang, "attendance.none")

    lines = [
        t(lang, "attendance.import.added", count=len(result.added), ids=ids(result.added)),
        t(lang, "attendance.import.changed", count=len(result.changed), ids=ids(result.changed)),
        t(lang, "attendance.import.unchanged", count=result.unchanged),
    ]
    if result.kept_cancelled:
        lines.append(t(lang, "attendance.import.kept_cancelled", ids=ids(result.kept_cancelled)))
    if result.closed_on_import:
        lines.append(
            t(lang, "attendance.import.closed_on_import", ids=ids(result.closed_on_import))
        )
    if result.missing:
        lines.append(t(lang, "attendance.import.missing", ids=ids(result.missing)))
    if result.cancelled_missing:
        lines.append(
            t(lang, "attendance.import.cancelled_missing", ids=ids(result.cancelled_missing))
        )
    lines.append(t(lang, "attendance.import.notified", count=result.notified))
    return lines


async def run_import(
    db: Database, cfg: Config, rows: list[TableRow], now: dt.datetime, lang: str,
    *, cancel_missing: bool = False,
) -> tuple[ScheduleResult | None, list[str]]:
    """Validates against the database and imports; (None, problems) when anything is wrong."""
    entries, problems = await _check(db, cfg, rows, lang)
    if problems:
        return None, problems
    return await import_schedule(db, cfg, entries, now, cancel_missing=cancel_missing), []


async def _check(
    db: Database, cfg: Config, rows: list[TableRow], lang: str
) -> tuple[list[ScheduleEntry], list[str]]:
    async with db.read() as conn:
        groups, members = await directory(conn)
    return validate_schedule(rows, groups=groups, members=members, tz=cfg.tz, lang=lang)


def table_import(*, cancel_missing: bool = False) -> TableImport[ScheduleEntry, ScheduleResult]:
    """The schedule as a `bot.documents.imports` table import."""

    async def check(
        rows: list[TableRow], session: ImportSession
    ) -> tuple[list[ScheduleEntry], list[str]]:
        return await _check(await session.db(), session.cfg, rows, session.lang)

    async def store(session: ImportSession, entries: list[ScheduleEntry]) -> ScheduleResult:
        return await import_schedule(
            await session.db(), session.cfg, entries, session.now(),
            cancel_missing=cancel_missing,
        )

    return TableImport(
        columns=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, validate=check, store=store,
        summary=headed("attendance.import.imported", format_result),
    )


async def cli_import(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot schedule import [--cancel-missing] FILE`: validate the whole file, then import
    it or nothing."""
    spec = table_import(cancel_missing=bool(getattr(args, "cancel_missing", False)))
    return await run_table_import(spec, args.file, cfg)
