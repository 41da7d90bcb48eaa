"""The long-running and maintenance commands: run, check-config, db migrate, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bot.core.config import Config
from storage.db import Database, open_database

if TYPE_CHECKING:
    from bot.app import StudyApp

log = logging.getLogger(__name__)


async def cli_run(args: argparse.Namespace, cfg: Config) -> int:
    """Runs until SIGINT/SIGTERM, then stops gracefully (in-flight updates finish)."""
    from bot.app import build_application, start_app, stop_app

    if not cfg.telegram.token:
        print(
            f"{cfg.source}: no bot token ([telegram] token or STUDYBOT_TOKEN); "
            "playing the demo instead. See README.md to run the real bot.",
            file=sys.stderr,
        )
        from bot.demo.play import run_demo

        return await run_demo(keep=None)
    from bot.core import logsafe
    from bot.delivery import lock

    try:  # one instance per database (bot/delivery/lock.py); the OS drops it if we are killed
        instance = lock.acquire(cfg.db_path)
    except lock.InstanceBusy as exc:
        print(lock.refusal(exc, cfg.program.language, cfg.tz), file=sys.stderr)
        return 2
    logsafe.install([cfg.telegram.token])
    app = build_application(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await start_app(app)
    print("studybot running; press Ctrl+C to stop", file=sys.stderr, flush=True)
    try:
        code = await _until_stopped(app, stop)
    finally:
        log.info("stopping")
        await stop_app(app)
        instance.release()
    return code


async def _until_stopped(app: StudyApp, stop: asyncio.Event) -> int:
    """Waits for SIGINT/SIGTERM (0), or for the poller to give up on persistent 409 Conflicts
    (another process polls the token: 2, with the catalog's line on stderr)."""
    from bot.core.i18n import t
    from bot.delivery.inbox import Poller

    poller = app.bot_data.get("poller")
    if not isinstance(poller, Poller):
        await stop.wait()
        return 0
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(poller.gave_up.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
    if stop.is_set() or not poller.gave_up.is_set():
        return 0
    cfg: Config = app.bot_data["config"]
    print(t(cfg.program.language, "instance.conflict", count=poller.conflicts,
            seconds=f"{poller.conflict_lasted:.0f}"), file=sys.stderr, flush=True)
    return 2


async def cli_check_config(args: argparse.Namespace, cfg: Config) -> int:
    """Reaching here means the config loaded without problems."""
    print(f"{cfg.source}: OK")
    return 0


async def cli_migrate(args: argparse.Namespace, cfg: Config) -> int:
    db = await Database.open(cfg.db_path)
    try:
        applied = await db.migrate()
        version = await db.schema_version()
    finally:
        await db.close()
    for name in applied:
        print(f"applied {name}")
    print(f"schema version {version}")
    return 0


async def cli_backup(args: argparse.Namespace, cfg: Config) -> int:
    if not cfg.db_path.exists():
        print(f"{cfg.db_path}: no such database", file=sys.stderr)
        return 1
    db = await open_database(cfg.db_path)
    try:
        await db.backup(args.out)
    finally:
        await db.close()
    print(f"backup written to {args.out}")
    return 0
