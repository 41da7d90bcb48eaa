"""Demo scenes, one module per feature; each defines `ORDER` (int) and `SCENES` (a list of
async functions taking a `bot.demo.play.Demo`). `studybot demo` plays them all in ORDER."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo.play import Demo

Scene = Callable[["Demo"], Awaitable[None]]


def all_scenes() -> list[Scene]:
    modules = [
        importlib.import_module(f"bot.demo.scenes.{m.name}")
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_")
    ]
    modules.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    return [scene for m in modules for scene in getattr(m, "SCENES", [])]
