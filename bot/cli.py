"""The `studybot` command line: run the bot, check the config, migrate, back up, import, demo.

Each subcommand's work lives in the module it belongs to and is imported only when that
subcommand runs, so `studybot --help` and `studybot run` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.core.config import Config, ConfigError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2

CommandFn = Callable[[argparse.Namespace, Config], Coroutine[Any, Any, int]]


def _lazy(target: str) -> CommandFn:
    """A command implemented as `module:function`, imported when it runs."""
    module_name, func_name = target.split(":")

    async def run(args: argparse.Namespace, cfg: Config) -> int:
        func: CommandFn = getattr(importlib.import_module(module_name), func_name)
        return await func(args, cfg)

    return run


# `studybot export <kind>`: each kind's exporter lives with its feature.
EXPORTS: dict[str, str] = {
    "all": "bot.documents.exports:cli_export",
    "roster": "bot.documents.exports:cli_export",
    "attendance": "bot.documents.exports:cli_export",
    "leave": "bot.documents.exports:cli_export",
    "reading": "bot.documents.exports:cli_export",
    "reports": "bot.documents.exports:cli_export",
    "credits": "bot.documents.exports:cli_export",
}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", "-c", required=True, type=Path, help="path to the TOML config file"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studybot",
        description="Telegram bot for a training programme's study groups and attendance.",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        help="run the bot (polling, or webhook when the config says so); "
        "with no token anywhere, play the demo instead",
    )
    p.add_argument(
        "--config", "-c", type=Path, default=None,
        help="path to the TOML config file (default: ./config.toml if it exists)",
    )
    p.set_defaults(func=_lazy("bot.runner:cli_run"))

    p = sub.add_parser("check-config", help="validate a config file (exit 2 on problems)")
    _add_config(p)
    p.set_defaults(func=_lazy("bot.runner:cli_check_config"))

    p = sub.add_parser("db", help="database maintenance")
    db_sub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    q = db_sub.add_parser("migrate", help="apply pending schema migrations")
    _add_config(q)
    q.set_defaults(func=_lazy("bot.runner:cli_migrate"))

    p = sub.add_parser("backup", help="copy the live database with SQLite's online backup API")
    _add_config(p)
    p.add_argument("--out", required=True, type=Path, help="file to write the backup to")
    p.set_defaults(func=_lazy("bot.runner:cli_backup"))

    p = sub.add_parser("roster", help="the member roster")
    r_sub = p.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    q = r_sub.add_parser(
        "import",
        help="import members from .csv or .xlsx "
        "(columns member_id,name,role,group,school,stage); all or nothing",
    )
    _add_config(q)
    q.add_argument("file", type=Path)
    q.set_defaults(func=_lazy("bot.members.importer:cli_import"))

    p = sub.add_parser(
        "invites", help="write invites.csv and a QR code per not-yet-registered member"
    )
    _add_config(p)
    p.add_argument("--out", required=True, type=Path, help="directory to write into")
    p.add_argument("--rotate", action="store_true", help="replace every unused code")
    p.set_defaults(func=_lazy("bot.members.invites:cli_invites"))

    p = sub.add_parser("schedule", help="activities")
    s_sub = p.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    q = s_sub.add_parser(
        "import",
        help="import activities from .csv or .xlsx (columns activity_id,type,title,group,"
        "start,end,location,lat,lon,host_member_id); all or nothing",
    )
    _add_config(q)
    q.add_argument(
        "--cancel-missing", action="store_true",
        help="cancel upcoming imported activities the file no longer lists and tell their "
        "members (without it they are only listed)",
    )
    q.add_argument("file", type=Path)
    q.set_defaults(func=_lazy("bot.activities.importer:cli_import"))

    p = sub.add_parser("books", help="the reading catalog")
    b_sub = p.add_subparsers(dest="books_command", required=True, metavar="ACTION")
    q = b_sub.add_parser(
        "import",
        help="import books from .csv or .xlsx (columns book_id,title,author,list,category,"
        "year); all or nothing",
    )
    _add_config(q)
    q.add_argument("file", type=Path)
    q.set_defaults(func=_lazy("bot.reading.books:cli_import"))

    p = sub.add_parser("exams", help="semester exam results (exit rule 2, credits)")
    x_sub = p.add_subparsers(dest="exams_command", required=True, metavar="ACTION")
    q = x_sub.add_parser(
        "import",
        help="import results from .csv or .xlsx (columns member_id,semester,score); "
        "all or nothing",
    )
    _add_config(q)
    q.add_argument("file", type=Path)
    q.set_defaults(func=_lazy("bot.credits.importer:cli_exams"))

    p = sub.add_parser("evaluations", help="workplace satisfaction and supervision results")
    v_sub = p.add_subparsers(dest="evaluations_command", required=True, metavar="ACTION")
    q = v_sub.add_parser(
        "import",
        help="import satisfaction (member_id,year,percent) or supervision "
        "(member_id,period,rank,total) results from .csv or .xlsx; all or nothing",
    )
    q.add_argument("evaluation", choices=("satisfaction", "supervision"))
    _add_config(q)
    q.add_argument("file", type=Path)
    q.set_defaults(func=_lazy("bot.credits.importer:cli_evaluations"))

    p = sub.add_parser("credits", help="the credit ledger")
    c_sub = p.add_subparsers(dest="credits_command", required=True, metavar="ACTION")
    q = c_sub.add_parser("adjust", help="add or take away points by hand, with a reason")
    _add_config(q)
    q.add_argument("--member", required=True, help="the member_id")
    q.add_argument("--points", required=True, help="points to add (negative to take away)")
    q.add_argument("--reason", required=True, help="why (shown in the ledger)")
    q.set_defaults(func=_lazy("bot.credits.importer:cli_adjust"))

    p = sub.add_parser("export", help="export records as CSV or Excel")
    e_sub = p.add_subparsers(dest="export_command", required=True, metavar="KIND")
    for kind, target in EXPORTS.items():
        q = e_sub.add_parser(kind, help=f"export {kind} records")
        _add_config(q)
        q.add_argument("--format", choices=("csv", "xlsx"), default="xlsx")
        q.add_argument("--from", dest="date_from", type=_date, help="first date (YYYY-MM-DD)")
        q.add_argument("--to", dest="date_to", type=_date, help="last date (YYYY-MM-DD)")
        q.add_argument("--out", type=Path, help="file to write (default: standard output)")
        q.set_defaults(func=_lazy(target))

    p = sub.add_parser("demo", help="play a scripted scenario against the built-in sandbox")
    p.add_argument("--keep", type=Path, help="keep the database and files in this directory")
    p.set_defaults(func=_lazy("bot.demo.play:cli_demo"), needs_config=False)

    return parser


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # With max_retries=0 the rate limiter logs every 429 with a traceback; the outbox sender
    # reschedules the message and logs one line itself.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    # The composition (and through it the features' config checks) only once a config is loaded.
    from bot.features import load_config, parse_config

    cfg = Config()
    if args.command == "run" and args.config is None:
        default = Path("config.toml")
        if default.exists():
            args.config = default
        else:
            args.needs_config = False
            cfg = parse_config({}, source="<no config file>")
    if getattr(args, "needs_config", True):
        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return EXIT_INVALID
    try:
        return int(asyncio.run(args.func(args, cfg)))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
