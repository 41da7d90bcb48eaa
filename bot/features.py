"""The one explicit, ordered list of studybot's features and what each brings: handler
modules, due checks, digest sections, exporters, importers, pending providers, config checks.

This is the composition root's table: nothing registers itself by being imported, and no
folder is scanned. `bot.app` and the CLI read it; core, delivery and documents never import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core import config as _config
from bot.core.config import Config, ConfigCheck
from bot.credits.rules import check_config as _check_credits
from bot.reading.rules import check_config as _check_reading
from bot.reminders.rules import check_config as _check_reminders

if TYPE_CHECKING:
    from telegram.ext import Application


@dataclass(frozen=True)
class Section:
    """A digest section: `fn` ("module:function"), its place, who gets it, its heading."""

    name: str
    fn: str
    order: int
    kinds: tuple[str, ...] = ("hr",)
    title_key: str | None = None


@dataclass(frozen=True)
class Feature:
    """What one feature brings. Strings are "module:attribute", imported when installed, so
    reading this table costs nothing at start-up."""

    name: str
    handlers: tuple[str, ...] = ()  # modules with `register(app)`, registered in this order
    due_checks: tuple[tuple[str, str], ...] = ()  # (check name, function)
    digest_sections: tuple[Section, ...] = ()
    exporters: tuple[tuple[str, str], ...] = ()  # (kind, sheet function), in workbook order
    pending: tuple[tuple[str, str], ...] = ()  # (name, provider) of what waits for HR


# In handler registration order: the gatekeeper first (it runs in group -1 anyway), the error
# handler last; the rest in the order they have always been registered in.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "members",
        handlers=("handlers.gatekeeper", "handlers.start", "handlers.profile", "handlers.chatid"),
        exporters=(
            ("summary", "bot.members.summary:summary_sheet"),
            ("roster", "bot.members.export:roster_sheet"),
        ),
    ),
    Feature("admin", handlers=("handlers.admin",)),
    Feature(
        "announce",
        handlers=("handlers.announce",),
        due_checks=(("announce.progress", "handlers.announce:progress_check"),),
    ),
    Feature(
        "attendance",
        handlers=("handlers.attendance",),
        due_checks=(("attendance.close", "bot.activities.roll_call:close_due"),),
        digest_sections=(
            Section("attendance", "bot.reminders.digest:attendance_section", 10,
                    ("hr", "leader")),
            Section("my_attendance", "bot.reminders.digest:my_attendance_section", 10,
                    ("trainee",)),
        ),
        exporters=(("attendance", "bot.activities.export:attendance_sheet"),),
    ),
    Feature(
        "credits",
        handlers=("handlers.credits",),
        due_checks=(
            ("credits.sync", "bot.credits.sync:sync_check"),
            ("exits.evaluate", "bot.credits.exit_review:evaluate_check"),
        ),
        digest_sections=(
            Section("credits", "bot.reminders.digest:credits_section", 50),
            Section("my_credits", "bot.reminders.digest:my_credits_section", 50, ("trainee",)),
        ),
        exporters=(("credits", "bot.credits.export:credits_sheet"),),
        pending=(("exits", "bot.credits.exit_review:pending_exits"),),
    ),
    Feature("dialog", handlers=("handlers.dialog",)),
    Feature("export", handlers=("handlers.export",)),
    Feature("language", handlers=("handlers.language",)),
    Feature(
        "leave",
        handlers=("handlers.leave",),
        due_checks=(
            ("leave.remind", "bot.leave.flow:remind_due"),
            ("leave.escalate", "bot.leave.flow:escalate_due"),
        ),
        digest_sections=(
            Section("leave", "bot.leave.flow:leave_digest_section", 25, ("leader",),
                    "leave.digest.title"),
        ),
        exporters=(("leave", "bot.leave.export:leave_sheet"),),
        pending=(("leave", "bot.leave.flow:pending_leave"),),
    ),
    Feature(
        "reading",
        handlers=("handlers.reading",),
        due_checks=(("reading.nudge", "bot.reading.flow:nudge_due"),),
        digest_sections=(
            Section("reading", "bot.reminders.digest:reading_section", 40),
            Section("pace", "bot.reminders.digest:pace_section", 40, ("leader", "trainee")),
        ),
        exporters=(("reading", "bot.reading.export:reading_sheet"),),
    ),
    Feature(
        "reminders",
        handlers=("handlers.reminders",),
        due_checks=(
            ("reminders.activity", "bot.reminders.activity:activity_reminders_due"),
            ("digest.charts", "bot.reminders.digest:prune_charts"),
            ("digest.hr", "bot.reminders.digest:hr_due"),
            ("digest.leader", "bot.reminders.digest:leader_due"),
            ("digest.trainee", "bot.reminders.digest:trainee_due"),
        ),
        digest_sections=(
            Section("pending", "bot.reminders.digest:pending_section", 20),
            Section("unreachable", "bot.reminders.digest:unreachable_section", 90),
            Section("undelivered", "bot.reminders.digest:undelivered_section", 95),
        ),
    ),
    Feature(
        "reports",
        handlers=("handlers.reports",),
        due_checks=(("reports.remind", "bot.reports.flow:remind_due"),),
        digest_sections=(
            Section("reports", "bot.reminders.digest:reports_section", 30, ("hr", "leader")),
        ),
        exporters=(("reports", "bot.reports.export:reports_sheet"),),
    ),
    Feature("schedule", handlers=("handlers.schedule",)),
    Feature("errors", handlers=("handlers.errors",)),
)

# The order sheets appear in a workbook (`export all`, /export).
SHEET_ORDER: tuple[str, ...] = (
    "summary", "roster", "attendance", "leave", "reading", "reports", "credits",
)


def resolve(target: str) -> Any:
    """The object a "module:attribute" string names (the module imported on the way)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def handler_modules() -> list[str]:
    return [m for f in FEATURES for m in f.handlers]


_installed = False


def install() -> None:
    """Fills the registries the features' code reads — due checks (bot.core.scheduler),
    digest sections (bot.reminders.digest), exporters (bot.documents.exports), what waits for
    HR (bot.core.pending) — from FEATURES. Idempotent; the app, the CLI and tests call it."""
    global _installed
    if _installed:
        return
    from bot.core import pending, scheduler
    from bot.documents import exports
    from bot.reminders import digest

    exporters = {kind: fn for f in FEATURES for kind, fn in f.exporters}
    for kind in (*SHEET_ORDER, *sorted(set(exporters) - set(SHEET_ORDER))):
        if kind in exporters:
            exports.register(kind, resolve(exporters[kind]))
    for f in FEATURES:
        for name, fn in f.due_checks:
            scheduler.register(name, resolve(fn))
        for s in f.digest_sections:
            digest.register(s.name, resolve(s.fn), order=s.order, kinds=s.kinds,
                            title_key=s.title_key)
        for name, fn in f.pending:
            pending.register(name, resolve(fn))
    _installed = True


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Registers every feature's handlers, in FEATURES order (the gatekeeper's group -1 first,
    the error handler last), after filling the registries."""
    install()
    for name in handler_modules():
        importlib.import_module(name).register(app)


# -- config checks (each feature validates its own config section) ---------------------------

# Run after core's own checks, in this order.
CONFIG_CHECKS: tuple[ConfigCheck, ...] = (_check_reading, _check_credits, _check_reminders)


def parse_config(
    data: dict[str, Any], *, source: str = "<config>", base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """`bot.core.config.parse_config` with every feature's check: a config as the bot takes it."""
    return _config.parse_config(
        data, source=source, base_dir=base_dir, env=env, checks=CONFIG_CHECKS
    )


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """`bot.core.config.load_config` with every feature's check: what the CLI loads."""
    return _config.load_config(path, env=env, checks=CONFIG_CHECKS)
