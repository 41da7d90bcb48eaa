"""One programme year for the whole product: `[program] year_starts` and the old keys."""

from __future__ import annotations

import pytest

from bot.core.config import ConfigError, problem
from bot.core.i18n import t
from bot.features import parse_config

AGREE = [
    ({}, "01-01"),
    ({"program": {"year_starts": "09-01"}}, "09-01"),
    ({"reading": {"year_starts": "09-01"}}, "09-01"),
    ({"credits": {"year_starts": "03-01"}}, "03-01"),
    ({"reading": {"year_starts": "09-01"}, "credits": {"year_starts": "09-01"}}, "09-01"),
    ({"program": {"year_starts": "09-01"}, "credits": {"year_starts": " 09-01 "}}, "09-01"),
]


@pytest.mark.parametrize(("data", "year_starts"), AGREE)
def test_one_year_everywhere(data: dict[str, dict[str, object]], year_starts: str) -> None:
    cfg = parse_config(data, env={})
    # Whatever reads the old places reads the programme's year too.
    assert (cfg.program.year_starts, cfg.reading.year_starts, cfg.credits.year_starts) == (
        year_starts, year_starts, year_starts)


def _differ(first: str, second: str, a: str, b: str) -> str:
    # No `[program] language` in these configs: the programme's default, zh.
    both = t("zh", "config.both_years", first=first, second=second)
    return problem("zh", both, "years_differ", first=repr(a), second=repr(b))


def _form(value: str) -> str:
    return problem("zh", "[program] year_starts", "year_starts", value=repr(value))


DISAGREE = [
    ({"reading": {"year_starts": "09-01"}, "credits": {"year_starts": "01-01"}},
     _differ("reading", "credits", "09-01", "01-01")),
    ({"program": {"year_starts": "09-01"}, "reading": {"year_starts": "01-01"}},
     _differ("program", "reading", "09-01", "01-01")),
    ({"program": {"year_starts": "03-01"}, "credits": {"year_starts": "09-01"}},
     _differ("program", "credits", "03-01", "09-01")),
    ({"program": {"year_starts": "13-01"}}, _form("13-01")),
    ({"program": {"year_starts": "02-29"}}, _form("02-29")),
]


@pytest.mark.parametrize(("data", "problem"), DISAGREE)
def test_different_days_name_both(data: dict[str, dict[str, object]], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="x.toml", env={})
    assert any(p.startswith(f"x.toml: {problem}") for p in info.value.problems), (
        info.value.problems)


def test_the_example_config_names_the_programme_year() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "config.example.toml").read_text(encoding="utf-8")
    program = text.split("[program]", 1)[1].split("\n[", 1)[0]
    assert 'year_starts = "01-01"' in program
    assert text.count("\nyear_starts =") == 1
