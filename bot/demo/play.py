"""`studybot demo`: the real bot against the built-in sandbox, playing a scripted scenario.

No token and no network: the sandbox is a loopback Bot API. The database is temporary unless
`--keep DIR` is given (then with a `config.toml` for the CLI's exports on it). Each feature adds
its scenes in `bot/demo/scenes/`; the transcript is printed at the end as one timeline, in the
order things happened, with each step's heading in the programme's language and a closing
"what next" for a real bot.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.resources
import io
import json
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from bot.core.config import Config
from bot.core.i18n import t
from bot.sandbox.client import Timeline
from bot.sandbox.server import Sandbox
from storage.db import OWNER_FILE, private_dirs

if TYPE_CHECKING:
    from bot.app import StudyApp
    from bot.core.clock import ManualClock
    from bot.sandbox.client import SandboxUser

DEMO_GROUPS = ("第一组", "第二组")
DEMO_START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DEMO_PROGRAM = {"name": "县教育局后备干部培养", "language": "zh"}


class RecordingSandbox(Sandbox):
    """The sandbox keeping its numbered changes for the timeline (see `Timeline`), and
    delivering the bot's pending notifications before every user action: what an action
    caused for others then shows before the next person acts, as it would on phones that
    are not racing a script."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(keep_changes=True, **kwargs)
        self.settle: Callable[[], Awaitable[object]] | None = None

    async def before_action(self) -> None:
        if self.settle is not None:
            await self.settle()


def write_kept_config(workdir: Path, db_file: Path) -> Path:
    """`config.toml` in the kept directory, pointing at its database and files: enough for the
    commands that never talk to Telegram (`export`, `check-config`), owner-only like the
    database it leads to. No token: the demo's was the sandbox's."""
    path = workdir / "config.toml"
    # JSON strings are valid TOML basic strings (a path may hold quotes or backslashes).
    text = (
        "# Written by `studybot demo --keep`: the demo's database, for\n"
        "#   studybot export all --config config.toml --out export.xlsx\n"
        "[program]\n"
        f"name = {json.dumps(DEMO_PROGRAM['name'], ensure_ascii=False)}\n"
        f"language = {json.dumps(DEMO_PROGRAM['language'])}\n\n"
        "[storage]\n"
        f"path = {json.dumps(str(db_file.resolve()), ensure_ascii=False)}\n"
        f"files_dir = {json.dumps(str((workdir / 'files').resolve()), ensure_ascii=False)}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, OWNER_FILE)  # an existing file keeps its mode through O_CREAT
    return path


def demo_roster() -> str:
    """The sample roster cut to two groups and one HR clerk."""
    text = importlib.resources.files("bot.samples").joinpath("roster.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    keep = [r for r in rows if r["group"] in DEMO_GROUPS]
    keep += [r for r in rows if r["role"] == "hr"][:1]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(keep)
    return out.getvalue()


@dataclass
class Demo:
    """What a scene can use: the sandbox, the running app, the people and their codes."""

    sandbox: Sandbox
    app: StudyApp
    config: Config
    clock: ManualClock
    codes: dict[str, str]
    names: dict[str, str]
    people: dict[str, SandboxUser] = field(default_factory=dict)
    chats: dict[int, str] = field(default_factory=dict)
    next_id: int = 5001

    def person(self, member_id: str) -> SandboxUser:
        """The sandbox user acting as `member_id` (created on first use)."""
        if member_id not in self.people:
            self.next_id += 1
            name = self.names.get(member_id, member_id)
            self.people[member_id] = self.sandbox.user(self.next_id, name)
            self.chats[self.next_id] = f"{name} ({member_id})"
        return self.people[member_id]

    async def register(self, *member_ids: str) -> None:
        """Registers demo members unless an earlier scene did (scenes may run on their own)."""
        from bot.app import services_of
        from storage import members as members_repo

        for member_id in member_ids:
            async with services_of(self.app).db.read() as conn:
                member = await members_repo.by_member_id(conn, member_id)
            if member is not None and member.telegram_id is None:
                await self.person(member_id).ask(f"/start {self.codes[member_id]}")
        await self.flush()

    async def flush(self) -> None:
        from bot.app import services_of

        await services_of(self.app).sender.flush()

    async def tick(self, **advance: float) -> None:
        """Moves the demo clock, runs what fell due, delivers it."""
        from bot.app import services_of
        from bot.core import scheduler

        if advance:
            self.clock.advance(**advance)
        await scheduler.tick(services_of(self.app))
        await self.flush()


async def run_demo(keep: Path | None, out: TextIO | None = None) -> int:
    """Plays every scene and prints the conversations; returns the exit code."""
    # The transcript is the output; the bot's start/stop INFO lines would only interleave.
    root = logging.getLogger()
    if root.level < logging.WARNING and not root.isEnabledFor(logging.DEBUG):
        root.setLevel(logging.WARNING)
    from bot.app import AppOptions, build_application, start_app, stop_app
    from bot.core.clock import ManualClock
    from bot.demo.scenes import all_scenes
    from bot.documents.tables import read_table
    from bot.features import parse_config
    from bot.members.importer import import_roster, validate_roster
    from bot.members.invites import ensure_invites
    from storage.db import open_database

    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="studybot-demo-") as tmp:
        workdir = private_dirs(keep) if keep else Path(tmp)
        db_file = workdir / "demo.sqlite3"
        if db_file.exists():
            db_file.unlink()
        clock = ManualClock(DEMO_START)
        recording = RecordingSandbox(now=clock.now)
        async with recording as sandbox:
            cfg = parse_config(
                {
                    "telegram": {
                        "token": sandbox.token, "base_url": sandbox.base_url,
                        "base_file_url": sandbox.base_file_url,
                        "username": sandbox.bot_username,
                    },
                    "storage": {"path": str(db_file), "files_dir": str(workdir / "files")},
                    "program": dict(DEMO_PROGRAM),
                    "outbox": {"private_chat_interval_seconds": 0.0},
                },
                source="<demo>", base_dir=workdir, env={},
            )
            roster_file = workdir / "roster.csv"
            roster_file.write_text(demo_roster(), encoding="utf-8")
            from bot.members.importer import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

            entries, problems = validate_roster(
                read_table(roster_file, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
            )
            if problems:
                print("\n".join(problems), file=sys.stderr)
                return 1
            db = await open_database(cfg.db_path)
            try:
                await import_roster(db, entries, clock.now())
                invites = await ensure_invites(db, clock.now())
            finally:
                await db.close()
            codes = {i.member_id: i.code for i in invites}
            names = {e.member_id: e.name for e in entries}
            options = AppOptions(clock=clock, sender_poll_interval=0.05, tick_interval=None)
            app = build_application(cfg, options)
            await start_app(app)
            demo = Demo(sandbox, app, cfg, clock, codes, names)
            lang = cfg.program.language
            recording.settle = demo.flush
            timeline = Timeline(sandbox, demo.chats)
            try:
                for number, scene in enumerate(all_scenes(), 1):
                    await demo.flush()  # the last step's notifications belong to it
                    title = t(lang, f"demo.scene.{scene.__name__.removeprefix('scene_')}")
                    timeline.heading(
                        "# " + t(lang, "demo.step", number=number, title=title)
                    )
                    await scene(demo)
                await demo.flush()
            finally:
                await stop_app(app)
            print(timeline.render(), file=out)
        print(f"\n# {t(lang, 'demo.next.title')}", file=out)
        print(t(lang, "demo.next.steps"), file=out)
        if keep:
            config_file = write_kept_config(workdir, db_file)
            print("\n" + t(lang, "demo.kept", dir=workdir, config=config_file), file=out)
    return 0


async def cli_demo(args: argparse.Namespace, cfg: Config) -> int:
    return await run_demo(args.keep)

