"""Config loading: defaults, the token variable, and every kind of error naming file and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_config_is_valid_and_documents_every_key() -> None:
    cfg = load_config(EXAMPLE, env={})
    assert cfg.program.timezone == "Asia/Shanghai"
    assert cfg.program.language == "zh"
    assert cfg.storage.path == "studybot.sqlite3"
    assert cfg.db_path == EXAMPLE.parent / "studybot.sqlite3"
    text = EXAMPLE.read_text("utf-8")
    import dataclasses

    from bot.core.config import Config

    for section in dataclasses.fields(Config):
        if section.name in ("source", "base_dir"):
            continue
        value = getattr(cfg, section.name)
        assert f"[{section.name}]" in text
        for f in dataclasses.fields(value):
            if dataclasses.is_dataclass(getattr(value, f.name)):
                assert f"[{section.name}.{f.name}]" in text
            else:
                assert f"{f.name} =" in text, f"{section.name}.{f.name} undocumented"


def test_token_variable_overrides_file() -> None:
    cfg = parse_config({"telegram": {"token": "1:file"}}, env={"STUDYBOT_TOKEN": "2:env"})
    assert cfg.telegram.token == "2:env"
    assert "2:env" not in repr(cfg)


def test_dates_and_optional_values() -> None:
    cfg = parse_config(
        {"calendar": {"extra_holidays": ["2026-05-06"]}, "program": {"hr_chat_id": -100}}, env={}
    )
    assert cfg.calendar.extra_holidays == (dt.date(2026, 5, 6),)
    assert cfg.program.hr_chat_id == -100


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[telegram]\ntokn = 'x'\n", "[telegram] tokn: unknown key"),
        ("[nonsense]\na = 1\n", "[nonsense]: unknown section"),
        ("[telegram]\nmode = 'push'\n", "[telegram] mode: must be 'polling' or 'webhook'"),
        ("[telegram.webhook]\nport = 'x'\n", "[telegram.webhook] port: must be an integer"),
        ("[telegram.webhook]\nport = 70000\n", "[telegram.webhook] port: must be between"),
        ("[telegram]\nmode = 'webhook'\n", "[telegram.webhook] url: required"),
        ("[program]\nlanguage = 'fr'\n", "[program] language: must be 'zh' or 'en'"),
        ("[program]\ntimezone = 'Mars/Base'\n", "[program] timezone: unknown time zone"),
        ("[program]\nhr_chat_id = 'hr'\n", "[program] hr_chat_id: must be an integer"),
        ("[storage]\npath = 3\n", "[storage] path: must be a string"),
        ("[calendar]\nextra_holidays = ['2026-13-01']\n", "[calendar] extra_holidays: must be"),
        ("[calendar]\ncountry = 'XX'\n", "[calendar] country: unknown country code"),
        ("[registration]\nmax_wrong_codes = 0\n", "[registration] max_wrong_codes: must be"),
        ("[registration]\nmax_wrong_codes = true\n", "max_wrong_codes: must be an integer"),
        ("program = 3\n", "[program] must be a table"),
        ("[program\n", "not valid TOML"),
    ],
)
def test_errors_name_file_section_and_key(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert any(expected in p and str(path) in p for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[program]\nlanguage = 'fr'\ntimezone = 'Nowhere'\n[storage]\nx = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert len(info.value.problems) == 3


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[program]\nname = '计划'\n", encoding="utf-8")
    assert main(["check-config", "--config", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[program]\nlanguage = 'fr'\n[storage]\nx = 1\n", encoding="utf-8")
    assert main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "[program] language" in err and "[storage] x: unknown key" in err
    assert main(["check-config", "--config", str(tmp_path / "missing.toml")]) == 2


# -- each feature checks its own sections; core takes the checks from the composition ----------

FEATURE_PROBLEMS = [
    ({"reading": {"year_starts": "02-29"}}, "[reading] year_starts: must be a day of the year"),
    ({"reading": {"nudge_day": 29}}, "[reading] nudge_day: must be between 0 (off) and 28"),
    ({"credits": {"year_starts": "13-01"}}, "[credits] year_starts: must be a day of the year"),
    ({"exit": {"supervision_fraction": "x"}}, "[exit] supervision_fraction: must be a fraction"),
    ({"exit": {"top_n": 0}}, "[exit] top_n: must be at least 1"),
    ({"reminders": {"minutes_before": -1}}, "[reminders] minutes_before: must be between"),
    ({"digest": {"leader_weekly": "XYZ"}}, "[digest] leader_weekly: must be a weekday"),
    ({"digest": {"max_names": 0}}, "[digest] max_names: must be between 1 and 1000"),
]


@pytest.mark.parametrize(("data", "expected"), FEATURE_PROBLEMS)
def test_feature_sections_are_checked_by_the_checks_handed_in(
    data: dict[str, dict[str, object]], expected: str
) -> None:
    from bot.features import CONFIG_CHECKS

    parse_config(data, env={})  # core alone knows no feature's rules
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="x.toml", env={}, checks=CONFIG_CHECKS)
    assert any(p.startswith(f"x.toml: {expected}") for p in info.value.problems), (
        info.value.problems
    )


@pytest.mark.parametrize(("data", "expected"), FEATURE_PROBLEMS)
def test_check_config_reports_the_feature_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    data: dict[str, dict[str, object]], expected: str,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "".join(
            f"[{section}]\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())
            for section, values in data.items()
        ),
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(path)]) == 2
    assert f"{path}: {expected}" in capsys.readouterr().err


def test_core_and_feature_problems_are_reported_together_core_first(tmp_path: Path) -> None:
    from bot.features import load_config as load_checked

    path = tmp_path / "bad.toml"
    path.write_text(
        "[digest]\nmax_names = 0\n[reading]\nnudge_day = 29\n[dialog]\nresume_hours = -1\n"
        "[program]\ntimezone = 'Nowhere'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_checked(path, env={})
    assert [p.split(": ")[1] for p in info.value.problems] == [
        "[program] timezone", "[dialog] resume_hours", "[reading] nudge_day", "[digest] max_names",
    ]


def test_every_feature_check_passes_the_defaults_and_the_example() -> None:
    from bot.core.config import Config
    from bot.features import CONFIG_CHECKS

    assert CONFIG_CHECKS
    for check in CONFIG_CHECKS:
        assert check(Config()) == [], check
    load_config(EXAMPLE, env={}, checks=CONFIG_CHECKS)


def test_core_config_imports_no_feature() -> None:
    import ast
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from bot.core.config import parse_config\n"
        "parse_config({'digest': {'max_names': 5}}, env={})\n"
        "print(sorted(m for m in sys.modules if m.startswith('bot.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=EXAMPLE.parent, capture_output=True, text=True,
        check=True,
    ).stdout
    assert ast.literal_eval(out) == ["bot.core", "bot.core.config"], out
