"""Roster import: HR's member list (.csv or .xlsx) checked as a whole, then applied all or nothing.

Validation is a pure function over the table rows and reports every problem at once as
"line N: reason", so HR can fix the file in one go. The import runs in one transaction:
groups are created by name, members added or updated by `member_id`, members missing from the
file deactivated (never deleted: their history stays), and each change goes to the audit log.
Importing the same file twice changes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.core.config import Config
from bot.core.i18n import DEFAULT_LANGUAGE, t
from bot.documents.imports import (
    ImportSession,
    LineProblems,
    TableImport,
    headed,
    run_table_import,
)
from bot.documents.tables import TableRow
from storage import audit as audit_repo
from storage.db import Database, ts
from storage.models import Role

REQUIRED_COLUMNS: tuple[str, ...] = ("member_id", "name", "role", "group")
OPTIONAL_COLUMNS: tuple[str, ...] = ("school", "stage")
NAME_MAX = 64
FIELD_MAX = 128

# What HR may write in the role column besides the canonical English names.
ROLE_ALIASES: Mapping[str, Role] = {
    "trainee": "trainee",
    "学员": "trainee",
    "leader": "leader",
    "组长": "leader",
    "hr": "hr",
    "人事": "hr",
}
GROUPED_ROLES: frozenset[Role] = frozenset({"trainee", "leader"})


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One validated roster line."""

    line: int
    member_id: str
    name: str
    role: Role
    group: str | None
    school: str = ""
    stage: str = ""


@dataclass(slots=True)
class RosterResult:
    """What an import did, as (member_id, name) pairs."""

    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    deactivated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def total_changes(self) -> int:
        return len(self.added) + len(self.changed) + len(self.deactivated)


def validate_roster(
    rows: list[TableRow], *, lang: str = DEFAULT_LANGUAGE
) -> tuple[list[RosterEntry], list[str]]:
    """The roster entries of `rows` and every problem found, each "line N: reason" in `lang`.

    Entries are only meaningful when the problem list is empty.
    """
    found = LineProblems(lang, "roster.line")
    seen = _Seen()
    entries = [e for e in (_check_row(found, seen, row) for row in rows) if e is not None]
    for group, line in seen.group_first_line.items():
        if group not in seen.leader_line:
            found.add(line, "roster.no_leader", group=group)
    problems = found.messages()
    if not rows:
        problems.append(t(lang, "roster.no_members"))
    return entries, problems


@dataclass
class _Seen:
    """What earlier lines of the file held: ids, each group's leader and first line."""

    first_line_of: dict[str, int] = field(default_factory=dict)
    leader_line: dict[str, int] = field(default_factory=dict)
    group_first_line: dict[str, int] = field(default_factory=dict)


def _check_row(found: LineProblems, seen: _Seen, row: TableRow) -> RosterEntry | None:
    """One line's entry, or None after adding its problems to `found`."""
    v = row.values
    line = row.line
    member_id = v.get("member_id", "").strip()
    name = v.get("name", "").strip()
    role_text = v.get("role", "").strip()
    group = v.get("group", "").strip()
    school = v.get("school", "").strip()
    stage = v.get("stage", "").strip()
    ok = True

    if not member_id:
        found.add(line, "roster.empty_member_id")
        ok = False
    elif found.repeated(
        seen.first_line_of, member_id, line, "roster.duplicate_member_id", member_id=member_id
    ):
        ok = False

    if not name:
        found.add(line, "roster.empty_name")
        ok = False

    for column, text, limit in (
        ("member_id", member_id, FIELD_MAX),
        ("name", name, NAME_MAX),
        ("group", group, FIELD_MAX),
        ("school", school, FIELD_MAX),
        ("stage", stage, FIELD_MAX),
    ):
        if found.too_long(line, "roster.too_long", column, text, limit):
            ok = False

    role = ROLE_ALIASES.get(role_text.casefold())
    if role is None:
        found.add(line, "roster.unknown_role", role=role_text)
        ok = False
    elif role in GROUPED_ROLES:
        if not group:
            found.add(line, "roster.missing_group", role=role)
            ok = False
        else:
            seen.group_first_line.setdefault(group, line)
            if role == "leader" and found.repeated(
                seen.leader_line, group, line, "roster.two_leaders", group=group
            ):
                ok = False
    elif group:
        found.add(line, "roster.hr_with_group", group=group)
        ok = False

    if not ok or role is None:
        return None
    return RosterEntry(
        line=line, member_id=member_id, name=name, role=role,
        group=group if role in GROUPED_ROLES else None, school=school, stage=stage,
    )


def _snapshot(
    member_id: str, name: str, role: str, group: str | None, school: str, stage: str, active: bool
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "name": name,
        "role": role,
        "group": group,
        "school": school,
        "stage": stage,
        "active": active,
    }


async def _audit(
    conn: aiosqlite.Connection,
    at: str,
    actor_pk: int | None,
    action: str,
    member_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str | None,
) -> None:
    await audit_repo.record(
        conn, at=at, actor_pk=actor_pk, action=action, subject=f"member:{member_id}",
        before=before, after=after, reason=reason,
    )


async def import_roster(
    db: Database,
    entries: list[RosterEntry],
    now: dt.datetime,
    *,
    actor_pk: int | None = None,
    reason: str | None = None,
) -> RosterResult:
    """Applies validated entries in one transaction; members not listed are deactivated."""
    at = ts(now)
    result = RosterResult()
    async with db.tx() as conn:
        for name in sorted({e.group for e in entries if e.group is not None}):
            await conn.execute(
                "INSERT INTO groups (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                (name, at),
            )
        group_ids = {
            row["name"]: int(row["id"])
            for row in await conn.execute_fetchall("SELECT id, name FROM groups")
        }
        existing = {
            row["member_id"]: row
            for row in await conn.execute_fetchall(
                "SELECT m.id, m.member_id, m.name, m.role, m.school, m.stage, m.active,"
                " g.name AS group_name FROM members m LEFT JOIN groups g ON g.id = m.group_id"
            )
        }
        for e in entries:
            group_id = group_ids[e.group] if e.group is not None else None
            await _apply(conn, at, actor_pk, reason, e, group_id, existing.get(e.member_id),
                         result)
        listed = {e.member_id for e in entries}
        for member_id, old in sorted(existing.items()):
            if member_id not in listed and old["active"]:
                await _deactivate(conn, at, actor_pk, reason, member_id, old, result)
    return result


def _before(old: sqlite3.Row, active: bool) -> dict[str, Any]:
    return _snapshot(old["member_id"], old["name"], old["role"], old["group_name"],
                     old["school"], old["stage"], active)


async def _apply(
    conn: aiosqlite.Connection, at: str, actor_pk: int | None, reason: str | None,
    e: RosterEntry, group_id: int | None, old: sqlite3.Row | None, result: RosterResult,
) -> None:
    """One listed member: added, changed (and reactivated) or left as they are."""
    after = _snapshot(e.member_id, e.name, e.role, e.group, e.school, e.stage, True)
    if old is None:
        await conn.execute(
            "INSERT INTO members (member_id, name, role, group_id, school, stage, active,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (e.member_id, e.name, e.role, group_id, e.school, e.stage, at, at),
        )
        await _audit(conn, at, actor_pk, "roster.add", e.member_id, None, after, reason)
        result.added.append((e.member_id, e.name))
        return
    before = _before(old, bool(old["active"]))
    if before == after:
        result.unchanged += 1
        return
    await conn.execute(
        "UPDATE members SET name = ?, role = ?, group_id = ?, school = ?, stage = ?,"
        " active = 1, updated_at = ? WHERE id = ?",
        (e.name, e.role, group_id, e.school, e.stage, at, old["id"]),
    )
    await _audit(conn, at, actor_pk, "roster.change", e.member_id, before, after, reason)
    result.changed.append((e.member_id, e.name))


async def _deactivate(
    conn: aiosqlite.Connection, at: str, actor_pk: int | None, reason: str | None,
    member_id: str, old: sqlite3.Row, result: RosterResult,
) -> None:
    """A member missing from the file: deactivated, never deleted (their history stays)."""
    before = _before(old, True)
    await conn.execute(
        "UPDATE members SET active = 0, updated_at = ? WHERE id = ?", (at, old["id"])
    )
    await _audit(conn, at, actor_pk, "roster.deactivate", member_id, before,
                 {**before, "active": False}, reason)
    result.deactivated.append((member_id, old["name"]))


def format_result(result: RosterResult, lang: str) -> list[str]:
    """The summary lines printed after an import."""
    sep = t(lang, "roster.summary.separator")

    def names(items: list[tuple[str, str]]) -> str:
        if not items:
            return t(lang, "roster.summary.nobody")
        return sep.join(t(lang, "roster.summary.person", member_id=m, name=n) for m, n in items)

    return [
        t(lang, "roster.summary.added", count=len(result.added), names=names(result.added)),
        t(lang, "roster.summary.changed", count=len(result.changed), names=names(result.changed)),
        t(
            lang,
            "roster.summary.deactivated",
            count=len(result.deactivated),
            names=names(result.deactivated),
        ),
    ]


async def _validate(
    rows: list[TableRow], session: ImportSession
) -> tuple[list[RosterEntry], list[str]]:
    return validate_roster(rows, lang=session.lang)


async def _store(session: ImportSession, entries: list[RosterEntry]) -> RosterResult:
    now = session.now()
    return await import_roster(
        await session.db(), entries, now, reason=f"import {session.file_name}"
    )


ROSTER_IMPORT = TableImport(
    columns=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, validate=_validate, store=_store,
    summary=headed("roster.imported", format_result),
)


async def cli_import(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot roster import FILE`: validate the whole file, then import it or nothing."""
    return await run_table_import(ROSTER_IMPORT, args.file, cfg)
