"""The long-running and maintenance commands: run, check-config, db migrate, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.core.config import Config
from storage.db import Database, open_database

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

    logsafe.install([cfg.telegram.token])
    app = build_application(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await start_app(app)
    print("studybot running; press Ctrl+C to stop", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await stop_app(app)
    return 0


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
