"""The command table: every command runs a function that exists, and building the parser stays
light (a command's module is imported only when that command runs)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, Command, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _leaves(commands: tuple[Command, ...], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for c in commands:
        out += _leaves(c.actions, (*path, c.name)) if c.actions else [(*path, c.name)]
    return out


def _runs(commands: tuple[Command, ...]) -> list[str]:
    return [r for c in commands for r in ([c.run] if not c.actions else _runs(c.actions))]


def test_the_commands_are_the_documented_ones() -> None:
    assert [" ".join(p) for p in _leaves(COMMANDS)] == [
        "run", "check-config", "db migrate", "backup", "roster import", "invites",
        "schedule import", "books import", "exams import", "evaluations import",
        "credits adjust", "export all", "export roster", "export attendance", "export leave",
        "export reading", "export reports", "export credits", "demo",
    ]


@pytest.mark.parametrize("target", sorted(set(_runs(COMMANDS))))
def test_every_command_runs_an_existing_coroutine(target: str) -> None:
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    assert inspect.iscoroutinefunction(func), target


@pytest.mark.parametrize("path", _leaves(COMMANDS))
def test_every_command_parses_with_its_required_arguments(path: tuple[str, ...]) -> None:
    argv = list(path)
    if path[0] == "evaluations":
        argv.append("supervision")
    if path[0] not in ("run", "demo"):
        argv += ["--config", "c.toml"]
    if path[0] in ("backup", "invites"):
        argv += ["--out", "x"]
    if path[0] == "credits":
        argv += ["--member", "M1", "--points", "1", "--reason", "r"]
    if path[-1] == "import":
        argv.append("file.csv")
    args = build_parser().parse_args(argv)
    assert callable(args.func)
    assert getattr(args, "needs_config", True) == (path[0] != "demo")


def test_a_group_without_its_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export"])
    assert info.value.code == 2
    assert "KIND" in capsys.readouterr().err


def test_building_the_parser_imports_no_command_module() -> None:
    script = (
        "import sys\n"
        "from bot.cli import build_parser\n"
        "build_parser().parse_args(['export', 'all', '-c', 'x.toml'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'handlers', 'storage')"
        " or m == 'telegram'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert ast.literal_eval(out) == ["bot", "bot.cli", "bot.core", "bot.core.config"], out
