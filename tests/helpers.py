"""Shared test helpers: a small roster, a running bot against the sandbox, registration, the
schedule import, waiting for edits and for the inbox, a simulated crash, and `said`, which
checks a reply against a catalog key so that re-wording bot/locales/*.toml breaks no test.

The fixtures built on these (`h`, `db`, `crash`, `no_token_env`) live in tests/conftest.py."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import socket
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Update

from bot.activities.importer import run_import
from bot.app import AppOptions, StudyApp, build_application, services_of, start_app, stop_app
from bot.core import scheduler
from bot.core.clock import ManualClock
from bot.core.config import Config, parse_config
from bot.core.i18n import catalog, t
from bot.core.services import Services, StudyContext
from bot.delivery.inbox import Inbox
from bot.documents.tables import TableRow, read_table
from bot.members.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_roster, validate_roster
from bot.members.invites import ensure_invites
from bot.sandbox.client import Entry, SandboxUser
from bot.sandbox.server import Sandbox
from storage import activities as activities_repo
from storage import members as members_repo
from storage.activities import Activity
from storage.db import Database, open_database, ts
from storage.models import Member

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)

SMALL_ROSTER = """member_id,name,role,group,school,stage
L1,罗宏伟,leader,第一组,北山小学,小学
T1,黄志强,trainee,第一组,育才小学,小学
T2,邹立新,trainee,第一组,东关小学,小学
L2,陈静,leader,第二组,城关中学,初中
T3,王芳,trainee,第二组,实验中学,初中
H1,周敏,hr,,教育局人事科,
"""


def big_roster(n: int) -> str:
    """A roster of `n` people: HR (周敏) and groups of ten, each led by its first member."""
    lines = ["member_id,name,role,group,school,stage", "H1,周敏,hr,,人事科,"]
    for i in range(n - 1):
        group = i // 10
        role = "leader" if i % 10 == 0 else "trainee"
        lines.append(f"M{i:03d},成员{i},{role},第{group + 1}组,学校{i},小学")
    return "\n".join(lines) + "\n"


def make_config(tmp: Path, sandbox: Sandbox | None = None, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "storage": {"path": str(tmp / "studybot.sqlite3"), "files_dir": str(tmp / "files")},
        "program": {"name": "测试培养计划"},
    }
    if sandbox is not None:
        data["telegram"] = {
            "token": sandbox.token,
            "base_url": sandbox.base_url,
            "base_file_url": sandbox.base_file_url,
        }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data, source="test.toml", base_dir=tmp, env={})


async def load_roster(cfg: Config, text: str, now: dt.datetime) -> dict[str, str]:
    """Imports a roster CSV text and returns {member_id: invite code}."""
    path = cfg.base_dir / "roster.csv"
    path.write_text(text, encoding="utf-8")
    entries, problems = validate_roster(
        read_table(path, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    )
    assert not problems, problems
    db = await open_database(cfg.db_path)
    try:
        await import_roster(db, entries, now)
        invites = await ensure_invites(db, now)
    finally:
        await db.close()
    return {inv.member_id: inv.code for inv in invites}


@dataclasses.dataclass
class Harness:
    app: StudyApp
    sandbox: Sandbox
    config: Config
    clock: ManualClock
    codes: dict[str, str]
    options: AppOptions
    next_user_id: int = 1000

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def new_user(self, name: str = "用户", **kwargs: Any) -> SandboxUser:
        self.next_user_id += 1
        return self.sandbox.user(self.next_user_id, name, **kwargs)

    async def register(self, member_id: str) -> SandboxUser:
        user = self.new_user(member_id)
        reply = await user.ask(f"/start {self.codes[member_id]}")
        assert said(reply.text, "register.welcome") or said(reply.text, "register.welcome", "en"), (
            reply.text)
        return user

    async def flush(self) -> int:
        return await self.services.sender.flush()

    async def tick(self, **advance: float) -> dict[str, int]:
        """Moves the clock (if asked), runs every due check, delivers what they queued."""
        if advance:
            self.clock.advance(**advance)
        done = await scheduler.tick(self.services)
        await self.flush()
        return done


@asynccontextmanager
async def registered_db(
    tmp: Path, now: dt.datetime, registered: tuple[str, ...] | None = None, **sections: Any
) -> AsyncIterator[tuple[Database, Config, dict[str, int]]]:
    """A flow test's world: SMALL_ROSTER (imported 30 days before `now`) on a temporary
    database, `registered` members (default: everyone) linked to Telegram at `now`; yields
    (database, config, {member_id: pk}) and closes the database."""
    cfg = make_config(tmp, **sections)
    await load_roster(cfg, SMALL_ROSTER, now - dt.timedelta(days=30))
    db = await open_database(cfg.db_path)
    try:
        async with db.tx() as conn:
            pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
            for i, member_id in enumerate(registered or tuple(pks), start=1):
                await members_repo.link_telegram(conn, pks[member_id], 9000 + i, "zh", ts(now))
        yield db, cfg, pks
    finally:
        await db.close()


@asynccontextmanager
async def running_bot(
    tmp: Path, *, roster: str = SMALL_ROSTER, clock: ManualClock | None = None,
    sandbox: Sandbox | None = None, start_sender: bool = True, **sections: dict[str, Any],
) -> AsyncIterator[Harness]:
    """A bot on a fresh database, talking to the sandbox over loopback HTTP."""
    clock = clock or ManualClock(T0)
    own_sandbox = sandbox is None
    sb = sandbox or Sandbox(now=clock.now)
    if own_sandbox:
        await sb.start()
    try:
        sections.setdefault("outbox", {}).setdefault("private_chat_interval_seconds", 0.0)
        cfg = make_config(tmp, sb, **sections)
        cfg = cfg.replace(telegram=dataclasses.replace(cfg.telegram, username=sb.bot_username))
        codes = await load_roster(cfg, roster, clock.now())
        options = AppOptions(
            clock=clock, sender_poll_interval=0.05, start_sender=start_sender, tick_interval=None
        )
        app = build_application(cfg, options)
        await start_app(app)
        harness = Harness(app, sb, cfg, clock, codes, options)
        try:
            yield harness
        finally:
            await stop_app(harness.app)  # the current app: restart() replaces it
    finally:
        if own_sandbox:
            await sb.stop()


async def restart(h: Harness) -> None:
    """Stops the bot and starts a new one on the same database and sandbox."""
    await stop_app(h.app)
    h.app = build_application(h.config, h.options)
    await start_app(h.app)


def write_config_file(path: Path, db_path: Path | str, **sections: dict[str, str]) -> Path:
    """A config file for the CLI: `[storage] path` and the given sections' string values."""
    lines = ["[storage]", f"path = '{Path(db_path).as_posix()}'"]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = '{value}'" for key, value in values.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the schedule and the database -------------------------------------------------------------

SCHEDULE_HEADER = "activity_id,type,title,group,start,end,location,lat,lon,host_member_id"


def schedule_rows(*lines: str, header: str = SCHEDULE_HEADER) -> list[TableRow]:
    """Schedule CSV lines as read_table gives them (the header is line 1)."""
    names = header.split(",")
    return [TableRow(i, dict(zip(names, line.split(","), strict=True)))
            for i, line in enumerate(lines, start=2)]


async def import_schedule(h: Harness, *lines: str, flush: bool = True) -> None:
    """Imports schedule lines as HR would (in zh); delivers the notices unless told not to."""
    result, problems = await run_import(
        h.services.db, h.config, schedule_rows(*lines), h.clock.now(), "zh"
    )
    assert problems == [] and result is not None, problems
    if flush:
        await h.flush()


async def activity(h: Harness, activity_id: str = "G1") -> Activity:
    async with h.services.db.read() as conn:
        found = await activities_repo.by_activity_id(conn, activity_id)
    assert found is not None
    return found


async def member(h: Harness | Database, member_id: str) -> Member:
    """A member's record, from a running bot's database or a flow test's."""
    db = h.services.db if isinstance(h, Harness) else h
    async with db.read() as conn:
        found = await members_repo.by_member_id(conn, member_id)
    assert found is not None
    return found


# -- waiting -----------------------------------------------------------------------------------


async def edited(h: Harness, entry: Entry, edits: int = 1) -> Entry:
    """`entry` once the bot has edited it (a button's answer comes before the edit)."""
    return await h.sandbox.wait_for_bot_message(
        entry.chat_id, lambda e: e is entry and e.edits >= edits, after=entry.message_id - 1
    )


async def wait_edit(h: Harness, chat_id: int, message_id: int, key: str, **params: Any) -> str:
    """The text of bot message `message_id` once it has been edited to say catalog `key`."""
    entry = await h.sandbox.wait_for_bot_message(
        chat_id, lambda e: e.message_id == message_id and said(e.text, key, **params),
        after=message_id - 1,
    )
    return entry.text or ""


def inbox_of(h: Harness) -> Inbox:
    inbox = h.app.bot_data["inbox"]
    assert isinstance(inbox, Inbox)
    return inbox


async def settled(h: Harness) -> None:
    """Every update handed to the bot so far has been handled (a handler may answer a press
    before it writes)."""
    await asyncio.wait_for(inbox_of(h).settled(), 10)


# -- processes and faults ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def boom(update: Update, context: StudyContext) -> None:
    """A handler that fails, for the error path."""
    raise RuntimeError("kaboom in a handler")


class Crash:
    """While on, updates are stored in the inbox (and confirmed to Telegram) but never reach
    the application: the state a process killed right after storing a batch leaves."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stored: list[int] = []
        self.arrived = asyncio.Event()
        self._mp = monkeypatch

    def start(self) -> None:
        self._mp.setattr(Inbox, "dispatch", self._lost)

    def start_kill(self) -> None:
        """Also stops polling right there, before the getUpdates that would confirm the batch
        to Telegram (a process killed between storing a batch and the next long poll)."""
        self._mp.setattr(Inbox, "dispatch", self._lost_and_killed)

    def _lost_and_killed(self, update: Update) -> None:
        self._lost(update)
        raise asyncio.CancelledError  # ends the polling task where it stands

    def _lost(self, update: Update) -> None:  # stands in for Inbox.dispatch
        self.stored.append(update.update_id)
        self.arrived.set()

    async def wait(self, count: int) -> None:
        while len(self.stored) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)

    def end(self) -> None:
        self._mp.undo()


# -- catalog keys ------------------------------------------------------------------------------


def text_of(key: str, lang: str = "zh", **params: Any) -> str:
    """The catalog text of `key` (a button label, an alert) as the bot renders it."""
    return t(lang, key, **params)


def _pattern(key: str, lang: str, params: dict[str, Any]) -> re.Pattern[str]:
    template = catalog(lang).get(key)
    if template is None:
        raise KeyError(f"message {key!r} is not in the {lang} catalog")
    parts: list[str] = []
    fixed = ""
    known = 0
    for literal, field, spec, conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        fixed += literal
        if field is None:
            continue
        if field in params:
            # Rendered as str.format would, so a number's format spec is honoured.
            value = params[field]
            if conversion == "r":
                value = repr(value)
            elif conversion:
                value = ascii(value) if conversion == "a" else str(value)
            parts.append(re.escape(format(value, spec or "")))
            known += 1
        else:
            parts.append(r"[\s\S]*?")  # a variable part the test does not pin down
    unused = params.keys() - {f for _, f, _, _ in string.Formatter().parse(template) if f}
    if unused:
        raise KeyError(f"{key!r} has no field {sorted(unused)}: {template!r}")
    if not fixed.strip() and not known:
        raise ValueError(f"{key!r} has no fixed text to look for: {template!r}")
    return re.compile("".join(parts))


def said(text: str | None, key: str, lang: str = "zh", **params: Any) -> bool:
    """Whether `text` (a reply, or several joined) contains the message `key` in `lang`.

    Fields given in `params` must read as those values; any other field matches whatever
    stands there, so a test pins down the data it cares about and the template's fixed text
    comes from the catalog rather than from the test."""
    return _pattern(key, lang, params).search(text or "") is not None
