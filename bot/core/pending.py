"""What is waiting for HR's decision, gathered from every feature for /admin.

A feature lists its provider in bot/features.py (registered by `features.install`): an async
function `(conn, lang) -> list[str]` giving one line
per pending item (a leave request routed to HR, an exit proposal, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

Provider = Callable[[aiosqlite.Connection, str], Awaitable[list[str]]]

_PROVIDERS: dict[str, Provider] = {}


def register(name: str, fn: Provider) -> None:
    """Registers a provider under a unique name (re-registering replaces it)."""
    _PROVIDERS[name] = fn


async def gather(conn: aiosqlite.Connection, lang: str) -> list[str]:
    lines: list[str] = []
    for _, fn in sorted(_PROVIDERS.items()):
        lines.extend(await fn(conn, lang))
    return lines
