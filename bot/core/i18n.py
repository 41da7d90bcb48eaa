"""Message catalogs: every user-visible string, in zh and en, under the same keys.

Catalogs are TOML files in bot/locales/, one per feature and language (`core.zh.toml`,
`core.en.toml`, ...) merged at load; keys are dotted paths (`register.welcome`). Values are
`str.format` templates. A missing key in one language is a bug the test suite catches; at run
time it falls back to the other language rather than showing a raw key to a user.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.core.config import Config

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = str(value)
    return out


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, flattened to dotted keys."""
    merged: dict[str, str] = {}
    folder = importlib.resources.files("bot.locales")
    for res in sorted(folder.iterdir(), key=lambda r: r.name):
        if not res.name.endswith(f".{lang}.toml"):
            continue
        part = _flatten(tomllib.loads(res.read_text("utf-8")))
        clash = merged.keys() & part.keys()
        if clash:
            raise KeyError(f"{res.name}: keys defined twice: {sorted(clash)}")
        merged.update(part)
    return merged


class Speaker(Protocol):
    """Anyone with a language of their own (a member record)."""

    @property
    def language(self) -> str | None: ...


def lang_of(member: Speaker | None, cfg: Config) -> str:
    """The language to address `member` in: their own, else the programme's (`[program]
    language`). The one lookup every feature uses."""
    return normalize(member.language if member is not None else None, cfg.program.language)


def normalize(lang: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """A supported language code for whatever a user or config carries (e.g. 'en-GB')."""
    if lang:
        base = lang.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, /, **params: Any) -> str:
    """The message `key` in `lang`, formatted with `params`."""
    lang = normalize(lang)
    template = catalog(lang).get(key)
    if template is None:
        other = next(x for x in LANGUAGES if x != lang)
        template = catalog(other).get(key)
        if template is None:
            raise KeyError(f"message {key!r} is in no catalog")
    return template.format(**params) if params else template
