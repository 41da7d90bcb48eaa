"""The `studybot` command line: run the bot, check the config, migrate, back up, import, demo.

The commands are a table (`COMMANDS`): one row per command or subcommand with its help, its
arguments and the `module:function` that runs it. Each command's work lives in the module it
belongs to and is imported only when that command runs, so `studybot --help` and
`studybot run` start fast. Every command reads `./config.toml` unless `--config` names another
file; bare `studybot` prints the help. The help is English (it is shown before any config says
the programme's language); what a command prints once its config is loaded is in the
programme's language (the catalogs' `cli.*` keys).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
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
        from bot import features

        features.install()  # the exporters, due checks ... the features list (bot/features.py)
        func: CommandFn = getattr(importlib.import_module(module_name), func_name)
        return await func(args, cfg)

    return run


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


@dataclass(frozen=True)
class Arg:
    """One `add_argument` call: its names or flags and its keyword options."""

    names: tuple[str, ...]
    options: dict[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@dataclass(frozen=True)
class Columns:
    """An import file's columns (the optional ones after) and one example data line, for its
    `--help`: HR builds the file in Excel from this."""

    required: tuple[str, ...]
    example: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def epilog(self) -> str:
        header = ",".join((*self.required, *self.optional))
        optional = f"\noptional columns: {', '.join(self.optional)}" if self.optional else ""
        return (f"columns (the file's first row):\n  {header}{optional}\n"
                f"example line:\n  {','.join(self.example)}")


@dataclass(frozen=True)
class Command:
    """A row of the command table: a command that runs `run` (`module:function`) with `args`,
    or, with `actions`, a group whose subcommand (`metavar`) is chosen on the command line."""

    name: str
    help: str
    run: str = ""
    args: tuple[Arg, ...] = ()
    actions: tuple[Command, ...] = ()
    metavar: str = "ACTION"
    # False for commands that need no config file (the demo builds its own).
    needs_config: bool = True
    # Shown after the options in `--help` (an import's columns and example line).
    epilog: str = ""


DEFAULT_CONFIG = Path("config.toml")
CONFIG = arg("--config", "-c", type=Path, default=None,
             help=f"path to the TOML config file (default: ./{DEFAULT_CONFIG})")
FILE = arg("file", type=Path, help="the .csv (UTF-8) or .xlsx file")


def _import(name: str, columns: Columns, run: str, *args: Arg) -> Command:
    """An all-or-nothing table import: `--config`, then `args`, then the file."""
    return Command(
        "import", f"import {name} from .csv or .xlsx; all or nothing", run,
        (CONFIG, *args, FILE), epilog=columns.epilog(),
    )


# The import files' columns as the importers read them (bot/members/importer.py,
# bot/activities/importer.py, bot/reading/books.py, bot/credits/importer.py); written out here
# so `--help` imports none of them. tests/unit/test_cli_help.py checks they agree.
ROSTER_COLUMNS = Columns(
    ("member_id", "name", "role", "group"),
    ("M001", "罗宏伟", "leader", "第一组", "北山小学", "小学"),
    ("school", "stage"),
)
SCHEDULE_COLUMNS = Columns(
    ("activity_id", "type", "title", "group", "start", "end", "location", "lat", "lon",
     "host_member_id"),
    ("G001", "group_study", "读书交流：给教师的建议", "第一组", "2026-03-02 15:30",
     "2026-03-02 17:30", "城关小学会议室", "", "", "M002", ""),
    ("radius_m",),
)
BOOKS_COLUMNS = Columns(
    ("book_id", "title", "author", "list", "category", "year"),
    ("B01", "给教师的建议", "苏霍姆林斯基", "required", "education_monograph", "2026"),
)
EXAMS_COLUMNS = Columns(("member_id", "semester", "score"), ("M001", "2026-1", "86"))
SATISFACTION_COLUMNS = Columns(("member_id", "year", "percent"), ("M001", "2026", "92%"))
SUPERVISION_COLUMNS = Columns(
    ("member_id", "period", "rank", "total"), ("M001", "2026-H1", "3", "49"),
)


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

EXPORT_ARGS: tuple[Arg, ...] = (
    CONFIG,
    arg("--format", choices=("csv", "xlsx"), default=None,
        help="csv or xlsx (default: from --out's extension; it must agree with it)"),
    arg("--from", dest="date_from", type=_date, help="first date (YYYY-MM-DD)"),
    arg("--to", dest="date_to", type=_date, help="last date (YYYY-MM-DD)"),
    arg("--out", help="file to write, .xlsx or .csv; - (or none) writes CSV to standard output"),
    arg("--codes", action="store_true",
        help="machine-readable codes and English headers (for scripts) instead of the "
        "programme's language"),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "run",
        "run the bot (polling, or webhook when the config says so); "
        "with no config file and no token, play the demo instead",
        "bot.runner:cli_run",
        (arg("--config", "-c", type=Path, default=None,
             help=f"path to the TOML config file (default: ./{DEFAULT_CONFIG} if it exists)"),),
    ),
    Command("check-config", "validate a config file (exit 2 on problems)",
            "bot.runner:cli_check_config", (CONFIG,)),
    Command("db", "database maintenance", actions=(
        Command("migrate", "apply pending schema migrations", "bot.runner:cli_migrate",
                (CONFIG,)),
    )),
    Command("backup", "copy the live database with SQLite's online backup API",
            "bot.runner:cli_backup",
            (CONFIG, arg("--out", required=True, type=Path, help="file to write the backup to"))),
    Command("roster", "the member roster", actions=(
        _import("members", ROSTER_COLUMNS, "bot.members.importer:cli_import"),
    )),
    Command("invites", "write invites.csv, a QR code and a printable card (invites.pdf) per "
            "not-yet-registered member",
            "bot.members.invites:cli_invites", (
                CONFIG,
                arg("--out", required=True, type=Path, help="directory to write into"),
                arg("--rotate", action="store_true", help="replace every unused code"),
            )),
    Command("schedule", "activities", actions=(
        _import("activities", SCHEDULE_COLUMNS, "bot.activities.importer:cli_import",
                arg("--cancel-missing", action="store_true",
                    help="cancel upcoming imported activities the file no longer lists and "
                    "tell their members (without it they are only listed)")),
    )),
    Command("books", "the reading catalog", actions=(
        _import("books", BOOKS_COLUMNS, "bot.reading.books:cli_import"),
    )),
    Command("exams", "semester exam results (exit rule 2, credits)", actions=(
        _import("results", EXAMS_COLUMNS, "bot.credits.importer:cli_exams"),
    )),
    Command("evaluations", "workplace satisfaction and supervision results", actions=(
        Command("import", "import satisfaction or supervision results from .csv or .xlsx; "
                "all or nothing",
                "bot.credits.importer:cli_evaluations",
                (arg("evaluation", choices=("satisfaction", "supervision")), CONFIG, FILE),
                epilog=f"satisfaction {SATISFACTION_COLUMNS.epilog()}\n\n"
                f"supervision {SUPERVISION_COLUMNS.epilog()}"),
    )),
    Command("credits", "the credit ledger", actions=(
        Command("adjust", "add or take away points by hand, with a reason",
                "bot.credits.importer:cli_adjust", (
                    CONFIG,
                    arg("--member", required=True, help="the member_id"),
                    arg("--points", required=True,
                        help="points to add (negative to take away)"),
                    arg("--reason", required=True, help="why (shown in the ledger)"),
                    arg("--year", default=None,
                        help="book into this past programme year (not yet decided); "
                        "default: the current one"),
                )),
    )),
    Command("export", "export records as CSV or Excel", metavar="KIND", actions=tuple(
        Command(kind, f"export {kind} records", target, EXPORT_ARGS)
        for kind, target in EXPORTS.items()
    )),
    Command("demo", "play a scripted scenario against the built-in sandbox",
            "bot.demo.play:cli_demo",
            (arg("--keep", type=Path, help="keep the database and files in this directory"),),
            needs_config=False),
)


def _add(sub: argparse._SubParsersAction[argparse.ArgumentParser], command: Command) -> None:
    """Adds `command` (and, for a group, its subcommands) under `sub`."""
    p = sub.add_parser(
        command.name, help=command.help, description=command.help, epilog=command.epilog or None,
        # The epilog's lines are kept as written: columns and example lines must not wrap.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for a in command.args:
        p.add_argument(*a.names, **a.options)
    if command.actions:
        actions = p.add_subparsers(
            dest=f"{command.name}_command", required=True, metavar=command.metavar
        )
        for action in command.actions:
            _add(actions, action)
    elif command.needs_config:
        p.set_defaults(func=_lazy(command.run))
    else:
        p.set_defaults(func=_lazy(command.run), needs_config=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studybot",
        description="Telegram bot for a training programme's study groups and attendance.",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    # Not required: bare `studybot` prints this help (main) rather than a usage error.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        _add(sub, command)
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


def _config(args: argparse.Namespace) -> Config:
    """The config the command runs with, checked by core and by every feature."""
    if not getattr(args, "needs_config", True):
        return Config()
    # The composition (and through it the features' checks) only once a config is loaded.
    from bot.features import load_config, parse_config

    if args.config is None:
        if not DEFAULT_CONFIG.exists():
            if args.command == "run":
                return parse_config({}, source="<no config file>")
            from bot.core.i18n import t

            # No config, so no programme language yet: the default one's.
            raise ConfigError([t(Config().program.language, "cli.no_config", path=Path.cwd())])
        args.config = DEFAULT_CONFIG
    return load_config(args.config)


def _invalid(exc: ConfigError) -> int:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return EXIT_INVALID


# Everything the bot writes holds personal data (the database, backups, exports, invite
# codes, uploads): owner-only whatever umask the shell or the service manager gave us. The
# library also sets the modes itself (storage.db.private_file), for when it is embedded.
UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    os.umask(UMASK)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    setup_logging(args.verbose)
    try:
        cfg = _config(args)
    except ConfigError as exc:
        return _invalid(exc)
    try:
        return int(asyncio.run(args.func(args, cfg)))
    except ConfigError as exc:
        return _invalid(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
