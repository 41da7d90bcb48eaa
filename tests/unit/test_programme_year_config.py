"""One programme year for the whole product: `[program] year_starts` and the old keys."""

from __future__ import annotations

import pytest

from bot.core.config import ConfigError
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


DISAGREE = [
    ({"reading": {"year_starts": "09-01"}, "credits": {"year_starts": "01-01"}},
     "[reading] year_starts and [credits] year_starts: must be the same day"),
    ({"program": {"year_starts": "09-01"}, "reading": {"year_starts": "01-01"}},
     "[program] year_starts and [reading] year_starts: must be the same day"),
    ({"program": {"year_starts": "03-01"}, "credits": {"year_starts": "09-01"}},
     "[program] year_starts and [credits] year_starts: must be the same day"),
    ({"program": {"year_starts": "13-01"}}, "[program] year_starts: must be a day of the year"),
    ({"program": {"year_starts": "02-29"}}, "[program] year_starts: must be a day of the year"),
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
