"""The command table: every command runs a function that exists, and building the parser stays
light (a command's module is imported only when that command runs); every command finds
./config.toml by default and answers in the programme's language."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, Command, build_parser, main
from bot.core.i18n import t
from tests.helpers import write_config_file

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


# --- ./config.toml by default, the programme's language ---------------------------------------


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STUDYBOT_TOKEN", raising=False)
    return tmp_path


def config_here(folder: Path, language: str) -> Path:
    return write_config_file(folder / "config.toml", folder / "db.sqlite3",
                             program={"language": language})


@pytest.mark.parametrize("language", ["zh", "en"])
def test_maintenance_commands_find_config_toml_and_speak_its_language(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], language: str,
) -> None:
    config_here(in_tmp, language)
    assert main(["check-config"]) == 0
    assert t(language, "cli.check_ok", source="config.toml") in capsys.readouterr().out

    assert main(["backup", "--out", "b.sqlite3"]) == 1
    assert capsys.readouterr().err.strip() == t(
        language, "cli.backup_no_database", db=in_tmp / "db.sqlite3")

    assert main(["db", "migrate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(t(language, "cli.migrate_applied", name=""))
    assert out[-1].startswith(t(language, "cli.migrate_version", version=""))
    assert (in_tmp / "db.sqlite3").exists()

    assert main(["backup", "--out", "b.sqlite3"]) == 0
    assert capsys.readouterr().out.strip() == t(language, "cli.backup_written", out="b.sqlite3")
    assert (in_tmp / "b.sqlite3").exists()


def test_an_explicit_config_wins_over_config_toml(
    in_tmp: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    config_here(in_tmp, "zh")
    other = write_config_file(in_tmp / "other.toml", in_tmp / "other.sqlite3",
                              program={"language": "en"})
    assert main(["check-config", "--config", str(other)]) == 0
    assert t("en", "cli.check_ok", source=str(other)) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["check-config"], ["db", "migrate"], ["export", "roster"],
                                  ["roster", "import", "members.csv"]])
def test_without_config_toml_a_command_says_how_to_give_one(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == t("zh", "cli.no_config", path=in_tmp)
    assert not (in_tmp / "db.sqlite3").exists()
