"""The long-running and maintenance commands: run, check-config, db migrate, backup.

`run` fails in one line: a start-up failure (the token refused, Telegram unreachable, the
webhook port taken ...) is a catalog sentence on stderr and exit 1, never a traceback (PTB's
InvalidToken message holds the token, and stderr is the journal); the traceback goes to the log
at DEBUG, redacted. With a config file and no token it exits 2: the demo is the quick start's,
with no config at all, and a service that "succeeds" is never restarted by systemd. What the
commands print is in the programme's language (the catalogs' `cli.*` keys).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.core.config import Config, token_problems
from bot.core.i18n import t
from storage.db import Database, open_database

if TYPE_CHECKING:
    from bot.app import StudyApp

log = logging.getLogger(__name__)

EXIT_STARTUP = 1
EXIT_NO_TOKEN = 2


def startup_problem(exc: BaseException, cfg: Config) -> str:
    """The one line a failed start prints: why, in the programme's language, never the token.
    """
    from telegram.error import InvalidToken, NetworkError, TimedOut

    lang = cfg.program.language
    if isinstance(exc, InvalidToken):
        # PTB raises it for Telegram's 401 and 404; the message (with the token) is not shown.
        cause = exc.__cause__ or exc.__context__
        status = "404" if "not found" in str(cause).lower() else "401"
        return t(lang, "startup.bad_token", status=status)
    if isinstance(exc, NetworkError | TimedOut | ConnectionError):
        host = urlsplit(cfg.telegram.base_url).netloc or cfg.telegram.base_url
        return t(lang, "startup.unreachable", host=host, reason=_reason(exc, cfg))
    return t(lang, "startup.failed", reason=_reason(exc, cfg))


def _reason(exc: BaseException, cfg: Config) -> str:
    """The exception in a few words, the token (and its secret half) taken out."""
    from bot.core import logsafe

    text = " ".join(str(exc).split()) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip() and str(cause) not in text:
        text = f"{text}: {' '.join(str(cause).split())}"
    text = logsafe.RedactFilter([cfg.telegram.token]).redact(text)
    return text if len(text) <= 200 else text[:199] + "…"


async def cli_run(args: argparse.Namespace, cfg: Config) -> int:
    """Runs until SIGINT/SIGTERM, then stops gracefully (in-flight updates finish)."""
    from bot.app import build_application, start_app, stop_app

    if not cfg.telegram.token:
        if getattr(args, "config", None) is not None:
            print(t(cfg.program.language, "startup.no_token", source=cfg.source),
                  file=sys.stderr)
            return EXIT_NO_TOKEN
        print(t(cfg.program.language, "cli.demo_instead", source=cfg.source), file=sys.stderr)
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
    try:
        await start_app(app)
    except Exception as exc:
        log.debug("start-up failed", exc_info=exc)
        print(startup_problem(exc, cfg), file=sys.stderr, flush=True)
        try:
            await stop_app(app)  # whatever had started (the database, the sender)
        except Exception as cleanup:
            log.debug("cleaning up after the failed start failed too", exc_info=cleanup)
        return EXIT_STARTUP
    print(t(cfg.program.language, "cli.running"), file=sys.stderr, flush=True)
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
    """Reaching here means the config loaded without problems; the token is checked here
    (`token_problems`: malformed exits 2, missing is a warning), never printed."""
    problems, warnings = token_problems(cfg)
    for line in (*problems, *warnings):
        print(line, file=sys.stderr)
    if problems:
        return 2
    from bot.core.workdays import unscheduled_warnings
    from bot.reports.rules import calendar_of

    today = dt.datetime.now(cfg.tz).date()
    for warning in unscheduled_warnings(calendar_of(cfg.calendar), today, cfg.program.language):
        print(f"{cfg.source}: {warning}", file=sys.stderr)
    print(t(cfg.program.language, "cli.check_ok", source=cfg.source))
    return 0


async def cli_migrate(args: argparse.Namespace, cfg: Config) -> int:
    db = await Database.open(cfg.db_path)
    try:
        applied = await db.migrate()
        version = await db.schema_version()
    finally:
        await db.close()
    lang = cfg.program.language
    for name in applied:
        print(t(lang, "cli.migrate_applied", name=name))
    print(t(lang, "cli.migrate_version", version=version))
    return 0


async def cli_backup(args: argparse.Namespace, cfg: Config) -> int:
    if not cfg.db_path.exists():
        print(t(cfg.program.language, "cli.backup_no_database", db=cfg.db_path), file=sys.stderr)
        return 1
    db = await open_database(cfg.db_path)
    try:
        await db.backup(args.out)
    finally:
        await db.close()
    print(t(cfg.program.language, "cli.backup_written", out=args.out))
    return 0
