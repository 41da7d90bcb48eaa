"""Telegram-facing handlers, one module per feature; `register_all` wires them in order.

Every module here with a `register(app)` function is a feature and is registered; the
gatekeeper goes first (it runs in group -1 anyway) and the error handler last.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from telegram.ext import Application

FIRST = ("gatekeeper", "start", "profile")
LAST = ("errors",)


def feature_modules() -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    middle = [n for n in names if n not in FIRST and n not in LAST]
    return [*FIRST, *middle, *LAST]


def register_all(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Registers the gatekeeper (group -1), every feature, and the error handler."""
    for name in feature_modules():
        module = importlib.import_module(f"handlers.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
