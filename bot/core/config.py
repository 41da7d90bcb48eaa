"""Typed, frozen configuration read from a TOML file.

Each `[section]` is a frozen dataclass; the loader walks the dataclass fields, so adding a key
is adding a field with a default (and a comment in config.example.toml). Every problem found is
collected and reported at once, naming the file, the `[section] key` and what is wrong — in
the language the file asks for (`[program] language` as written, even when other keys are
wrong; the programme's default, zh, when it is missing or invalid), from the catalogs'
`config.*` keys. The file and the `[section] key` are written literally in every language.

Core checks the values of its own sections; a feature's sections are checked by the feature,
whose check the composition hands in (`checks=`), so this module imports no feature.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TOKEN_ENV = "STUDYBOT_TOKEN"


class ConfigError(Exception):
    """Raised with every problem found in a config file."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8443
    url: str = ""
    secret_token: str = ""
    path: str = "telegram"


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(default="", repr=False)
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    username: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    # Polling stops (and `studybot run` exits 2) after this many 409 Conflicts in a row lasting
    # at least conflict_exit_seconds: another process is polling the same token.
    conflicts_before_exit: int = 5
    conflict_exit_seconds: float = 60.0


@dataclass(frozen=True)
class StorageConfig:
    path: str = "studybot.sqlite3"
    files_dir: str = "files"


@dataclass(frozen=True)
class ProgramConfig:
    name: str = "后备干部培养"
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    hr_chat_id: int | None = None
    # The first day of the programme year (MM-DD), for every feature: reading targets, credits
    # and the exit rules count the same year.
    year_starts: str = "01-01"


@dataclass(frozen=True)
class CalendarConfig:
    country: str = "CN"
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class RegistrationConfig:
    max_wrong_codes: int = 5
    wrong_code_window_minutes: int = 60


@dataclass(frozen=True)
class OutboxConfig:
    overall_per_second: float = 30.0
    private_chat_interval_seconds: float = 1.0
    group_per_minute: int = 20
    max_attempts: int = 8
    concurrency: int = 16


@dataclass(frozen=True)
class ReadingConfig:
    min_reflection_chars: int = 300
    review: Literal["auto", "required"] = "auto"
    # The old place of `[program] year_starts`: accepted when it says the same; after loading
    # it always holds the programme's year start.
    year_starts: str = "01-01"
    nudge_day: int = 1
    nudge_time: dt.time = dt.time(9, 0)


@dataclass(frozen=True)
class CheckinConfig:
    opens_before_minutes: int = 30
    late_after_minutes: int = 5
    checkout_opens_before_end_minutes: int = 15
    code_rotation_seconds: int = 60
    code_grace_seconds: int = 30
    require_location: bool = True
    radius_m: int = 300
    location_max_age_seconds: int = 120
    # Guessing the 6-digit code: after this many wrong codes for one activity within the
    # window, further tries are refused until `wrong_codes_lockout_minutes` after the last one.
    max_wrong_codes: int = 5
    wrong_codes_window_minutes: int = 60
    wrong_codes_lockout_minutes: int = 15


@dataclass(frozen=True)
class CreditsConfig:
    # The old place of `[program] year_starts` (as in [reading]).
    year_starts: str = "01-01"
    present: float = 2.0
    late: float = 1.0
    early_leave: float = 1.0
    absent: float = -2.0
    excused: float = 0.0
    book: float = 2.0
    monograph: float = 3.0
    paper: float = 3.0
    reflection: float = 1.0
    management_analysis: float = 5.0
    report_on_time: float = 2.0
    report_late: float = 1.0
    hosting: float = 2.0
    exam_passed: float = 5.0
    recommended_work: float = 2.0
    chart_font: str = ""


@dataclass(frozen=True)
class ExitConfig:
    top_n: int = 5
    ratio: float = 0.6
    max_failed_exams: int = 2
    exam_pass_mark: float = 60.0
    min_satisfaction: float = 0.8
    supervision_fraction: float | str = "1/3"
    supervision_consecutive: int = 2
    # Rule 1 of a programme year is decided this many days after the year ends (its totals
    # frozen); until then its proposals follow corrections.
    decide_after_days: int = 15


@dataclass(frozen=True)
class RemindersConfig:
    day_before_at: dt.time = dt.time(19, 0)
    minutes_before: int = 60
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(7, 0)


@dataclass(frozen=True)
class DigestConfig:
    hr_time: dt.time = dt.time(8, 30)
    leader_weekly: str = "MON 08:30"
    trainee_weekly: str = ""
    max_names: int = 20


@dataclass(frozen=True)
class ReportsConfig:
    due_time: dt.time = dt.time(18, 0)
    morning_time: dt.time = dt.time(9, 0)
    remind_before_minutes: int = 120
    notify_leader_when_overdue: bool = True


@dataclass(frozen=True)
class LeaveConfig:
    cutoff_minutes: int = 0
    remind_before_minutes: int = 120
    max_reason_chars: int = 500


@dataclass(frozen=True)
class DialogConfig:
    resume_hours: int = 24


@dataclass(frozen=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    program: ProgramConfig = field(default_factory=ProgramConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    reading: ReadingConfig = field(default_factory=ReadingConfig)
    checkin: CheckinConfig = field(default_factory=CheckinConfig)
    credits: CreditsConfig = field(default_factory=CreditsConfig)
    exit: ExitConfig = field(default_factory=ExitConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    leave: LeaveConfig = field(default_factory=LeaveConfig)
    dialog: DialogConfig = field(default_factory=DialogConfig)
    source: str = field(default="<defaults>", compare=False)
    base_dir: Path = field(default_factory=Path.cwd, compare=False)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.program.timezone)

    @property
    def db_path(self) -> Path:
        return self._resolve(self.storage.path)

    @property
    def files_dir(self) -> Path:
        return self._resolve(self.storage.files_dir)

    def _resolve(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() or p == ":memory:" else self.base_dir / path

    def replace(self, **sections: Any) -> Config:
        """Returns a copy with whole sections or fields of sections replaced (used by tests)."""
        return dataclasses.replace(self, **sections)


def t(lang: str, key: str, /, **params: Any) -> str:
    """`bot.core.i18n.t`, imported only once there is a problem to word: a good config (and
    building the CLI's parser) loads no catalog."""
    from bot.core import i18n

    return i18n.t(lang, key, **params)


def problem(lang: str, where: str, reason: str, /, **params: Any) -> str:
    """One problem as "[section] key: reason", the reason the catalog's `config.<reason>` in
    `lang`; `where` (the `[section] key`) stays literal. The loader puts the file in front."""
    return f"{where}: {t(lang, f'config.{reason}', **params)}"


# The languages `[program] language` accepts, and the programme's default (zh).
_LANGUAGES: tuple[str, ...] = typing.get_args(typing.get_type_hints(ProgramConfig)["language"])
DEFAULT_LANGUAGE: str = ProgramConfig().language


def language_of(data: Any) -> str:
    """The language a config's problems are reported in: its `[program] language` as written,
    whatever else is wrong; the programme's default when it is missing or not a known one."""
    program = data.get("program") if isinstance(data, dict) else None
    lang = program.get("language") if isinstance(program, dict) else None
    return lang if isinstance(lang, str) and lang in _LANGUAGES else DEFAULT_LANGUAGE


_SECTIONS: dict[str, type] = {
    name: tp
    for name, tp in typing.get_type_hints(Config).items()
    if name not in ("source", "base_dir")
}


def _iso(value: Any, tp: type[dt.date] | type[dt.time]) -> Any:
    """A date or time written as a TOML date or time or as ISO text; None if it is neither."""
    if isinstance(value, tp) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return tp.fromisoformat(value)
        except ValueError:
            pass
    return None


def _number(value: Any) -> bool:
    # TOML's true and false are Python bools, which are ints: not numbers in a config.
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Scalar(typing.NamedTuple):
    """How a plain field type is named in a problem (the catalog's `config.type.<name>`) and
    read from TOML (None: not readable)."""

    name: str
    read: Callable[[Any], Any]


_SCALARS: dict[Any, _Scalar] = {
    str: _Scalar("str", lambda v: v if isinstance(v, str) else None),
    int: _Scalar("int", lambda v: v if _number(v) and isinstance(v, int) else None),
    float: _Scalar("float", lambda v: float(v) if _number(v) else None),
    bool: _Scalar("bool", lambda v: v if isinstance(v, bool) else None),
    dt.date: _Scalar("date", lambda v: _iso(v, dt.date)),
    dt.time: _Scalar("time", lambda v: _iso(v, dt.time)),
}


def _type_name(tp: Any, lang: str) -> str:
    origin = typing.get_origin(tp)
    either = t(lang, "config.type.or")
    if origin is Literal:
        return either.join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return either.join(
            _type_name(a, lang) for a in typing.get_args(tp) if a is not type(None)
        )
    if origin is tuple:
        return t(lang, "config.type.list", item=_type_name(typing.get_args(tp)[0], lang))
    scalar = _SCALARS.get(tp)
    return t(lang, f"config.type.{scalar.name}") if scalar else getattr(tp, "__name__", str(tp))


class _Mismatch(ValueError):
    """`value` is not a `tp`: the innermost type that refused it (a list's item, not the list),
    which the caller names in the file's language (`_type_name`)."""

    def __init__(self, tp: Any, value: Any) -> None:
        super().__init__(f"not {tp}: {value!r}")
        self.tp = tp
        self.value = value


def _convert(value: Any, tp: Any) -> Any:
    """Converts a TOML value to `tp`, or raises _Mismatch saying what was expected."""
    origin = typing.get_origin(tp)
    if origin is Literal and value in typing.get_args(tp):
        return value
    if origin in (types.UnionType, typing.Union):
        for a in typing.get_args(tp):
            if a is type(None):
                continue
            try:
                return _convert(value, a)
            except ValueError:
                continue
    if origin is tuple and isinstance(value, list):
        inner = typing.get_args(tp)[0]
        return tuple(_convert(v, inner) for v in value)
    scalar = _SCALARS.get(tp)
    converted = scalar.read(value) if scalar else None
    if converted is not None:
        return converted
    raise _Mismatch(tp, value)


def _build(
    cls: type, data: Any, where: str, src: str, problems: list[str], lang: str,
) -> Any:
    if not isinstance(data, dict):
        # No colon after the table's name: "[program] must be a table", as it always read.
        problems.append(f"{src}: {where} {t(lang, 'config.not_a_table')}")
        return cls()
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            problems.append(f"{src}: {problem(lang, f'{where} {key}', 'unknown_key')}")
            continue
        tp = hints[key]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kwargs[key] = _build(
                tp, value, f"[{where.strip('[]')}.{key}]", src, problems, lang
            )
            continue
        try:
            kwargs[key] = _convert(value, tp)
        except _Mismatch as exc:
            problems.append(f"{src}: " + problem(
                lang, f"{where} {key}", "wrong_type",
                expected=_type_name(exc.tp, lang), value=repr(exc.value),
            ))
    return cls(**kwargs)


def parse_year_starts(text: str) -> tuple[int, int]:
    """(month, day) of "MM-DD"; raises ValueError for anything else, and for 02-29."""
    m = re.fullmatch(r"(\d{2})-(\d{2})", text.strip())
    if not m:
        raise ValueError(f"not MM-DD: {text!r}")
    month, day = int(m.group(1)), int(m.group(2))
    dt.date(2001, month, day)  # 2001 is not a leap year: a start must exist every year
    return month, day


# Where the programme year's first day may be written: the key, then the old places.
YEAR_KEYS: tuple[str, ...] = ("program", "reading", "credits")


def _year_starts(data: dict[str, Any], cfg: Config, lang: str) -> tuple[Config, list[str]]:
    """One programme year for the whole product: `[program] year_starts`, or the old
    `[reading]` / `[credits] year_starts` when they say the same day. The value is copied to
    the old places too, so whatever reads them reads the programme's year. Each value's own
    form is checked by the section it is in (core: [program]; the features: theirs)."""
    given: dict[str, str] = {}
    for section in YEAR_KEYS:
        table = data.get(section)
        if isinstance(table, dict) and isinstance(table.get("year_starts"), str):
            given[section] = table["year_starts"]
    problems: list[str] = []
    if "program" in given:
        try:
            parse_year_starts(given["program"])
        except ValueError:
            problems.append(problem(
                lang, "[program] year_starts", "year_starts", value=repr(given["program"])
            ))
    days: dict[str, tuple[int, int] | str] = {}
    for section, text in given.items():
        try:
            days[section] = parse_year_starts(text)
        except ValueError:
            days[section] = text.strip()
    first = next(iter(days), None)
    for section in list(days)[1:]:
        assert first is not None
        if days[section] != days[first]:
            both = t(lang, "config.both_years", first=first, second=section)
            problems.append(problem(
                lang, both, "years_differ",
                first=repr(given[first]), second=repr(given[section]),
            ))
    if problems or first is None:
        return cfg, problems
    try:
        month, day = parse_year_starts(given[first])
    except ValueError:
        return cfg, problems  # the section it is in says what is wrong with it
    value = f"{month:02d}-{day:02d}"
    return cfg.replace(
        program=dataclasses.replace(cfg.program, year_starts=value),
        reading=dataclasses.replace(cfg.reading, year_starts=value),
        credits=dataclasses.replace(cfg.credits, year_starts=value),
    ), problems


ConfigCheck = Callable[[Config], list[str]]
"""A check of a loaded config: its problems as "[section] key: reason" (the loader adds the file).

Core checks its own sections; each feature hands in the check of its sections through the
composition (`bot.features.CONFIG_CHECKS`), so core imports no feature. A check words its
problems in `cfg.program.language` (the file's, or the default when that key is wrong):
`problem(lang, "[section] key", reason, ...)`.
"""


def _check_program(cfg: Config) -> list[str]:
    try:
        zoneinfo.ZoneInfo(cfg.program.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [problem(cfg.program.language, "[program] timezone", "unknown_timezone",
                        value=repr(cfg.program.timezone))]
    return []


def _check_telegram(cfg: Config) -> list[str]:
    hook = cfg.telegram.webhook
    lang = cfg.program.language
    problems: list[str] = []
    if cfg.telegram.mode == "webhook":
        problems += [
            problem(lang, f"[telegram.webhook] {key}", "webhook_required")
            for key in ("url", "secret_token")
            if not getattr(hook, key)
        ]
    # Telegram sends the secret in a header and accepts only these characters in it.
    if not all(c.isascii() and (c.isalnum() or c in "_-") for c in hook.secret_token):
        problems.append(problem(lang, "[telegram.webhook] secret_token", "secret_chars"))
    if not 1 <= hook.port <= 65535:
        problems.append(
            problem(lang, "[telegram.webhook] port", "between", low=1, high=65535)
        )
    if cfg.telegram.conflicts_before_exit < 1:
        problems.append(problem(lang, "[telegram] conflicts_before_exit", "at_least", min=1))
    if cfg.telegram.conflict_exit_seconds < 0:
        problems.append(problem(lang, "[telegram] conflict_exit_seconds", "not_negative"))
    return problems


def _check_calendar(cfg: Config) -> list[str]:
    try:
        import holidays  # only a loaded config needs the calendar data

        holidays.country_holidays(cfg.calendar.country)
    except (NotImplementedError, KeyError, ImportError):
        return [problem(cfg.program.language, "[calendar] country", "unknown_country",
                        value=repr(cfg.calendar.country))]
    return []


class _Limit(typing.NamedTuple):
    """Each `[section] key` in `keys` must satisfy `ok`; `says` (the catalog's
    `config.<says>`, formatted with `params`) is the problem otherwise."""

    section: str
    keys: tuple[str, ...]
    ok: Callable[[Any], bool]
    says: str
    params: tuple[tuple[str, int], ...] = ()


_WEEK_MINUTES = 7 * 24 * 60

# The numeric limits of core's own sections, in the order their problems are reported.
_LIMITS: tuple[_Limit, ...] = (
    _Limit("registration", ("max_wrong_codes", "wrong_code_window_minutes"),
           lambda v: v >= 1, "at_least", (("min", 1),)),
    _Limit("outbox", ("overall_per_second",), lambda v: v > 0, "positive"),
    _Limit("checkin", ("opens_before_minutes", "late_after_minutes",
                       "checkout_opens_before_end_minutes", "code_grace_seconds"),
           lambda v: v >= 0, "not_negative"),
    _Limit("checkin", ("max_wrong_codes",), lambda v: v >= 0, "no_limit_or_more"),
    _Limit("checkin", ("code_rotation_seconds", "radius_m", "location_max_age_seconds",
                       "wrong_codes_window_minutes", "wrong_codes_lockout_minutes"),
           lambda v: v >= 1, "at_least", (("min", 1),)),
    _Limit("reports", ("remind_before_minutes",), lambda v: 0 <= v <= 24 * 60,
           "between_off", (("high", 1440),)),
    _Limit("leave", ("cutoff_minutes",), lambda v: 0 <= v <= _WEEK_MINUTES, "between_week"),
    _Limit("leave", ("remind_before_minutes",), lambda v: 0 <= v <= _WEEK_MINUTES,
           "between_off_week"),
    _Limit("leave", ("max_reason_chars",), lambda v: 1 <= v <= 3000,
           "between", (("low", 1), ("high", 3000))),
    _Limit("dialog", ("resume_hours",), lambda v: v >= 0, "resume_none_or_more"),
)


def _check_limits(cfg: Config) -> list[str]:
    return [
        problem(cfg.program.language, f"[{limit.section}] {key}", limit.says,
                **dict(limit.params))
        for limit in _LIMITS
        for key in limit.keys
        if not limit.ok(getattr(getattr(cfg, limit.section), key))
    ]


CORE_CHECKS: tuple[ConfigCheck, ...] = (
    _check_program, _check_telegram, _check_calendar, _check_limits,
)


def parse_config(
    data: dict[str, Any], *, source: str = "<config>", base_dir: Path | None = None,
    env: typing.Mapping[str, str] | None = None, checks: Sequence[ConfigCheck] = (),
) -> Config:
    """Builds a Config from parsed TOML data; raises ConfigError listing every problem.

    Core's own sections are always checked; `checks` are the features' checks of theirs (the
    composition's `CONFIG_CHECKS`), run after core's, in order.
    """
    lang = language_of(data)
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            problems.append(f"{source}: {problem(lang, f'[{name}]', 'unknown_section')}")
            continue
        sections[name] = _build(_SECTIONS[name], value, f"[{name}]", source, problems, lang)
    cfg = Config(**sections, source=source, base_dir=base_dir or Path.cwd())
    cfg, year_problems = _year_starts(data, cfg, lang)
    problems.extend(f"{source}: {problem}" for problem in year_problems)
    token = (env if env is not None else os.environ).get(TOKEN_ENV)
    if token:
        cfg = cfg.replace(telegram=dataclasses.replace(cfg.telegram, token=token))
    for check in (*CORE_CHECKS, *checks):
        problems.extend(f"{source}: {problem}" for problem in check(cfg))
    if problems:
        raise ConfigError(problems)
    return cfg


def _read_toml(p: Path) -> dict[str, Any]:
    # No TOML read, so no `[program] language` either: the programme's default language.
    lang = DEFAULT_LANGUAGE
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: {t(lang, 'config.cannot_read', reason=exc.strerror)}"]) from None
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError([f"{p}: {t(lang, 'config.not_utf8')}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: {t(lang, 'config.not_toml', error=exc)}"]) from None


def load_config(
    path: str | Path, *, env: typing.Mapping[str, str] | None = None,
    checks: Sequence[ConfigCheck] = (),
) -> Config:
    """Reads and validates a config file (see `parse_config`); raises ConfigError listing every
    problem."""
    p = Path(path)
    return parse_config(
        _read_toml(p), source=str(p), base_dir=p.resolve().parent, env=env, checks=checks
    )


# `<bot id>:<secret>` as BotFather hands it out: the secret is 35 characters of A-Z a-z 0-9 _ -
# today; some slack either way, so a longer one tomorrow is not refused.
TOKEN_FORMAT = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,50}")


def token_problems(cfg: Config) -> tuple[list[str], list[str]]:
    """(problems, warnings) about the bot token, never quoting it: malformed is a problem;
    missing a warning, since only `run` needs it (and refuses to start without it). Not one
    of CORE_CHECKS: the commands that never talk to Telegram run without a token."""
    token = cfg.telegram.token
    lang = cfg.program.language
    if not token:
        return [], [
            f"{cfg.source}: "
            + problem(lang, "[telegram] token", "token_not_set_run", env=TOKEN_ENV)
        ]
    if not TOKEN_FORMAT.fullmatch(token):
        where = t(lang, "config.token_or_env", env=TOKEN_ENV)
        return [f"{cfg.source}: {problem(lang, where, 'token_malformed')}"], []
    return [], []


def require_token(cfg: Config) -> str:
    if not cfg.telegram.token:
        raise ConfigError([
            f"{cfg.source}: "
            + problem(cfg.program.language, "[telegram] token", "token_not_set", env=TOKEN_ENV)
        ])
    return cfg.telegram.token
