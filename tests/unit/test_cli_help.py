"""The command line explains itself: bare `studybot` prints the help, and each import's `--help`
lists the file's columns (as its importer reads them) with an example line, unbroken."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot import cli
from bot.activities import importer as schedule_importer
from bot.credits import importer as credits_importer
from bot.members import importer as roster_importer
from bot.reading import books

SAMPLES = Path(__file__).resolve().parents[2] / "bot" / "samples"

# (argv, the Columns row, the importer's own (required, optional) columns)
IMPORTS: list[tuple[list[str], cli.Columns, tuple[tuple[str, ...], tuple[str, ...]]]] = [
    (["roster", "import"], cli.ROSTER_COLUMNS,
     (roster_importer.REQUIRED_COLUMNS, roster_importer.OPTIONAL_COLUMNS)),
    (["schedule", "import"], cli.SCHEDULE_COLUMNS,
     (schedule_importer.REQUIRED_COLUMNS, schedule_importer.OPTIONAL_COLUMNS)),
    (["books", "import"], cli.BOOKS_COLUMNS, (books.COLUMNS, ())),
    (["exams", "import"], cli.EXAMS_COLUMNS, (credits_importer.KINDS["exams"].columns, ())),
    (["evaluations", "import"], cli.SATISFACTION_COLUMNS,
     (credits_importer.KINDS["satisfaction"].columns, ())),
    (["evaluations", "import"], cli.SUPERVISION_COLUMNS,
     (credits_importer.KINDS["supervision"].columns, ())),
]


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_bare_studybot_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: studybot")
    for command in cli.COMMANDS:
        assert command.name in captured.out
    assert captured.err == ""


@pytest.mark.parametrize(("argv", "columns", "importer"), IMPORTS)
def test_the_help_columns_are_the_importers(
    argv: list[str], columns: cli.Columns,
    importer: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    assert (columns.required, columns.optional) == importer
    assert len(columns.example) == len(columns.required) + len(columns.optional)


@pytest.mark.parametrize(("argv", "columns", "importer"), IMPORTS)
def test_each_import_help_lists_its_columns_and_an_example(
    argv: list[str], columns: cli.Columns, importer: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [line.strip() for line in help_of(argv, capsys).splitlines()]
    # Whole lines: nothing wrapped inside a column name (the old help broke `t itle`).
    assert ",".join((*columns.required, *columns.optional)) in lines
    assert ",".join(columns.example) in lines


@pytest.mark.parametrize(("sample", "columns"), [("roster.csv", cli.ROSTER_COLUMNS),
                                                 ("books.csv", cli.BOOKS_COLUMNS),
                                                 ("schedule.csv", cli.SCHEDULE_COLUMNS)])
def test_the_example_line_is_the_samples_first(sample: str, columns: cli.Columns) -> None:
    with (SAMPLES / sample).open(encoding="utf-8-sig", newline="") as fh:
        header, first = next(csv.reader(fh)), next(csv.reader(fh))
    assert tuple(header) == columns.required + columns.optional[: len(header)
                                                                - len(columns.required)]
    assert tuple(first) == columns.example[: len(first)]
