"""Config loading: defaults, the token variable, and every kind of error naming file and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import ConfigError, load_config, parse_config, problem, token_problems
from bot.core.i18n import t

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


def zh(where: str, reason: str, **params: object) -> str:
    """A problem as the loader words it for a file with no (or no valid) language: zh."""
    return problem("zh", where, reason, **params)


def zh_type(name: str) -> str:
    return t("zh", f"config.type.{name}")


ZH_OR = t("zh", "config.type.or")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[telegram]\ntokn = 'x'\n", zh("[telegram] tokn", "unknown_key")),
        ("[nonsense]\na = 1\n", zh("[nonsense]", "unknown_section")),
        ("[telegram]\nmode = 'push'\n", zh("[telegram] mode", "wrong_type",
                                           expected=f"'polling'{ZH_OR}'webhook'",
                                           value="'push'")),
        ("[telegram.webhook]\nport = 'x'\n", zh("[telegram.webhook] port", "wrong_type",
                                                expected=zh_type("int"), value="'x'")),
        ("[telegram.webhook]\nport = 70000\n", zh("[telegram.webhook] port", "between",
                                                  low=1, high=65535)),
        ("[telegram]\nmode = 'webhook'\n", zh("[telegram.webhook] url", "webhook_required")),
        ("[program]\nlanguage = 'fr'\n", zh("[program] language", "wrong_type",
                                            expected=f"'zh'{ZH_OR}'en'", value="'fr'")),
        ("[program]\ntimezone = 'Mars/Base'\n", zh("[program] timezone", "unknown_timezone",
                                                   value="'Mars/Base'")),
        ("[program]\nhr_chat_id = 'hr'\n", zh("[program] hr_chat_id", "wrong_type",
                                              expected=zh_type("int"), value="'hr'")),
        ("[storage]\npath = 3\n", zh("[storage] path", "wrong_type",
                                     expected=zh_type("str"), value="3")),
        ("[calendar]\nextra_holidays = ['2026-13-01']\n",
         zh("[calendar] extra_holidays", "wrong_type", expected=zh_type("date"),
            value="'2026-13-01'")),
        ("[calendar]\ncountry = 'XX'\n", zh("[calendar] country", "unknown_country",
                                            value="'XX'")),
        ("[registration]\nmax_wrong_codes = 0\n", zh("[registration] max_wrong_codes",
                                                     "at_least", min=1)),
        ("[registration]\nmax_wrong_codes = true\n",
         zh("[registration] max_wrong_codes", "wrong_type", expected=zh_type("int"),
            value="True")),
        ("program = 3\n", f"[program] {t('zh', 'config.not_a_table')}"),
        ("[program\n", t("zh", "config.not_toml", error="").strip()),
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
    assert "[program] language" in err and zh("[storage] x", "unknown_key") in err
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

    data = {**data, "program": {"language": "en"}}  # the expected texts are English
    parse_config(data, env={})  # core alone knows no feature's rules
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="x.toml", env={}, checks=CONFIG_CHECKS)
    assert any(p.startswith(f"x.toml: {expected}") for p in info.value.problems), (
        info.value.problems
    )
    # The features word their problems in the programme's language too (zh by default).
    with pytest.raises(ConfigError) as zh:
        parse_config({**data, "program": {"language": "zh"}}, source="x.toml", env={},
                     checks=CONFIG_CHECKS)
    where = expected.split(":")[0]
    assert any(p.startswith(f"x.toml: {where}: ") and "must" not in p
               for p in zh.value.problems), zh.value.problems


@pytest.mark.parametrize(("data", "expected"), FEATURE_PROBLEMS)
def test_check_config_reports_the_feature_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    data: dict[str, dict[str, object]], expected: str,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[program]\nlanguage = "en"\n' + "".join(
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


# -- the problems in the language the file asks for (issue 17) --------------------------------

BAD = "[telegram]\ntokn = 'x'\n[program]\ntimezone = 'Nowhere'\n[leave]\nmax_reason_chars = 0\n"


def _problems(tmp_path: Path, language: str | None) -> list[str]:
    path = tmp_path / "bad.toml"
    head = f"[program]\nlanguage = '{language}'\n" if language is not None else ""
    path.write_text(BAD.replace("[program]\n", head or "[program]\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value.problems


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def test_an_en_files_problems_are_in_english_and_a_zh_ones_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    en = _problems(tmp_path, "en")
    assert en == [
        f"{path}: [telegram] tokn: unknown key",
        f"{path}: [program] timezone: unknown time zone 'Nowhere'",
        f"{path}: [leave] max_reason_chars: must be between 1 and 3000",
    ]
    zh = _problems(tmp_path, "zh")
    assert zh == [
        f"{path}: {problem('zh', '[telegram] tokn', 'unknown_key')}",
        f"{path}: {problem('zh', '[program] timezone', 'unknown_timezone', value=repr('Nowhere'))}",
        f"{path}: {problem('zh', '[leave] max_reason_chars', 'between', low=1, high=3000)}",
    ]
    assert all(_has_cjk(p) for p in zh) and not any(_has_cjk(p) for p in en)
    # Missing or invalid, the language is the programme's default (zh); the same problems.
    assert _problems(tmp_path, None) == zh
    invalid = _problems(tmp_path, "fr")
    assert invalid[:1] + invalid[2:] == zh
    assert invalid[1] == f"{path}: " + problem(
        "zh", "[program] language", "wrong_type", expected=f"'zh'{ZH_OR}'en'", value="'fr'")


def test_the_token_problems_are_in_the_programmes_language() -> None:
    for lang in ("zh", "en"):
        cfg = parse_config({"program": {"language": lang}}, source="x.toml", env={})
        _, missing = token_problems(cfg)
        assert missing == [
            "x.toml: " + problem(lang, "[telegram] token", "token_not_set_run",
                                 env="STUDYBOT_TOKEN")
        ]
        bad = parse_config({"program": {"language": lang}}, source="x.toml",
                           env={"STUDYBOT_TOKEN": "1:short"})
        malformed, _ = token_problems(bad)
        assert len(malformed) == 1 and _has_cjk(malformed[0]) == (lang == "zh")
        assert malformed[0].startswith("x.toml: [telegram] token") and "1:short" not in malformed[0]
    _, en = token_problems(parse_config({"program": {"language": "en"}}, env={}))
    assert "[telegram] token: not set" in en[0]


def test_check_config_prints_the_problems_in_the_files_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STUDYBOT_TOKEN", raising=False)
    for lang in ("zh", "en"):
        bad = tmp_path / f"{lang}.toml"
        bad.write_text(f"[program]\nlanguage = '{lang}'\n[storage]\nx = 1\n", encoding="utf-8")
        assert main(["check-config", "--config", str(bad)]) == 2
        err = capsys.readouterr().err
        assert f"{bad}: {problem(lang, '[storage] x', 'unknown_key')}" in err
        assert _has_cjk(err) == (lang == "zh")
        good = tmp_path / f"good-{lang}.toml"
        good.write_text(f"[program]\nlanguage = '{lang}'\n", encoding="utf-8")
        assert main(["check-config", "--config", str(good)]) == 0
        err = capsys.readouterr().err
        assert problem(lang, "[telegram] token", "token_not_set_run", env="STUDYBOT_TOKEN") in err


def test_the_languages_a_config_may_ask_for_are_the_catalogs() -> None:
    from bot.core import config, i18n

    assert set(config._LANGUAGES) == set(i18n.LANGUAGES)
    assert config.DEFAULT_LANGUAGE == i18n.DEFAULT_LANGUAGE
