"""Shared test helpers: a small roster, a running bot against the sandbox, registration."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import AppOptions, StudyApp, build_application, services_of, start_app, stop_app
from bot.core import scheduler
from bot.core.clock import ManualClock
from bot.core.config import Config, parse_config
from bot.core.services import Services
from bot.documents.tables import read_table
from bot.members.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_roster, validate_roster
from bot.members.invites import ensure_invites
from bot.sandbox.client import SandboxUser
from bot.sandbox.server import Sandbox
from storage.db import open_database

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
        assert "注册成功" in (reply.text or "") or "registered" in (reply.text or ""), reply.text
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
