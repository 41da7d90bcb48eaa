"""bot/features.py is the one list of what the features bring: this pins it, so a due check,
digest section, exporter, provider or command that appears or disappears is a visible change."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bot import features
from bot.core import commands, pending, scheduler
from bot.documents import exports
from bot.reminders import digest

ROOT = Path(__file__).resolve().parents[2]

HANDLERS = [
    "handlers.gatekeeper", "handlers.start", "handlers.profile", "handlers.chatid",
    "handlers.admin",
    "handlers.announce", "handlers.attendance", "handlers.credits", "handlers.dialog",
    "handlers.export", "handlers.language", "handlers.leave", "handlers.reading",
    "handlers.reminders", "handlers.reports", "handlers.schedule", "handlers.errors",
]
DUE_CHECKS = {
    "announce.progress", "attendance.close", "credits.sync", "digest.charts", "digest.hr",
    "digest.leader", "digest.trainee", "exits.evaluate", "leave.escalate", "leave.remind",
    "reading.nudge", "reminders.activity", "reports.remind",
}
SHEETS = ["summary", "roster", "attendance", "leave", "reading", "reports", "credits"]
SECTIONS = {
    "hr": [("attendance", 10), ("pending", 20), ("reports", 30), ("reading", 40),
           ("credits", 50), ("unreachable", 90), ("undelivered", 95)],
    "leader": [("attendance", 10), ("leave", 25), ("reports", 30), ("pace", 40)],
    "trainee": [("my_attendance", 10), ("pace", 40), ("my_credits", 50)],
}
COMMANDS = {
    "trainee": ["start", "help", "me", "checkin", "checkout", "code", "attendance", "upcoming",
                "leave", "leaves", "report", "books", "read", "submit", "reading", "credits",
                "mute", "unmute", "lang", "cancel"],
    "leader": ["start", "help", "me", "checkin", "checkout", "code", "attendance", "upcoming",
               "schedule", "leave", "leaves", "report", "reports", "handover", "books", "read",
               "submit", "reading", "credits", "ranking", "export", "mute", "unmute", "lang",
               "cancel"],
    "hr": ["start", "help", "me", "checkin", "checkout", "code", "attendance", "upcoming",
           "leaves", "excuse", "reports", "books", "reading", "ranking", "announce", "admin",
           "export", "adjust", "digest", "exits", "heatmap", "lang", "cancel"],
}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    features.install()
    for name in features.handler_modules():
        importlib.import_module(name)


def test_handler_modules_in_registration_order() -> None:
    assert features.handler_modules() == HANDLERS
    # Every handler module is listed (nothing is found by scanning) but the shared reply
    # helpers and the report-filing dialog, which handlers.reports registers.
    on_disk = {f"handlers.{p.stem}" for p in (ROOT / "handlers").glob("*.py")}
    assert on_disk - set(HANDLERS) == {
        "handlers.__init__", "handlers.replies", "handlers.report_filing"
    }
    for name in HANDLERS:
        assert callable(importlib.import_module(name).register), name


def test_due_checks() -> None:
    assert set(scheduler.checks()) == DUE_CHECKS


def test_exporters_in_workbook_order() -> None:
    assert list(exports.exporters()) == SHEETS


def test_pending_providers() -> None:
    assert sorted(pending._PROVIDERS) == ["exits", "leave"]


@pytest.mark.parametrize("kind", digest.KINDS)
def test_digest_sections(kind: digest.DigestKind) -> None:
    assert [(s.name, s.order) for s in digest.sections(kind)] == SECTIONS[kind]


@pytest.mark.parametrize("role", sorted(commands.ALL_ROLES))
def test_commands_per_role(role: commands.Role) -> None:
    assert [c.name for c in commands.for_role(role)] == COMMANDS[role]


def test_every_target_resolves_to_a_coroutine_function() -> None:
    import inspect

    for f in features.FEATURES:
        targets = [fn for _, fn in (*f.due_checks, *f.exporters, *f.pending)]
        targets += [s.fn for s in f.digest_sections]
        for target in targets:
            assert inspect.iscoroutinefunction(features.resolve(target)), target


def test_install_is_idempotent() -> None:
    before = dict(scheduler.checks())
    features.install()
    assert scheduler.checks() == before
