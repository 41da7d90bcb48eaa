"""The one explicit, ordered list of studybot's features and what each brings: handler
modules, due checks, digest sections, exporters, importers, pending providers, config checks.

This is the composition root's table: nothing registers itself by being imported, and no
folder is scanned. `bot.app` and the CLI read it; core, delivery and documents never import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.core import config as _config
from bot.core.config import Config, ConfigCheck
from bot.credits.rules import check_config as _check_credits
from bot.reading.rules import check_config as _check_reading
from bot.reminders.rules import check_config as _check_reminders

# -- config checks (each feature validates its own config section) ---------------------------

# Run after core's own checks, in this order.
CONFIG_CHECKS: tuple[ConfigCheck, ...] = (_check_reading, _check_credits, _check_reminders)


def parse_config(
    data: dict[str, Any], *, source: str = "<config>", base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """`bot.core.config.parse_config` with every feature's check: a config as the bot takes it."""
    return _config.parse_config(
        data, source=source, base_dir=base_dir, env=env, checks=CONFIG_CHECKS
    )


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """`bot.core.config.load_config` with every feature's check: what the CLI loads."""
    return _config.load_config(path, env=env, checks=CONFIG_CHECKS)
