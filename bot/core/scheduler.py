"""Database-driven scheduling: the JobQueue only ticks; what is due is computed from the database.

A feature brings *due checks* (listed in bot/features.py, registered by `features.install`) —
an async function `(services, now) -> int` that looks at
the database, does what has fallen due (closes an activity's roll call, queues a reminder with
an outbox `dedupe_key` so it is never queued twice) and returns how many things it did. Every
tick runs every check with the clock's current time, so after downtime whatever fell due is
caught up on the first tick, and a restart repeats nothing. Tests move the injectable clock and
call `tick()` themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ContextTypes

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

DueCheck = Callable[["Services", dt.datetime], Awaitable[int]]

_CHECKS: dict[str, DueCheck] = {}

TICK_SECONDS = 20


def register(name: str, fn: DueCheck) -> None:
    """Registers a due check under a unique name (re-registering replaces it); called by
    bot.features.install for every check a feature lists."""
    _CHECKS[name] = fn


def checks() -> dict[str, DueCheck]:
    return dict(_CHECKS)


async def tick(services: Services, now: dt.datetime | None = None) -> dict[str, int]:
    """Runs every due check once at `now` (default: the clock); returns what each did."""
    when = now or services.clock.now()
    done: dict[str, int] = {}
    for name, check in sorted(_CHECKS.items()):
        try:
            done[name] = await check(services, when)
        except Exception:
            log.exception("due check %s failed", name)
            done[name] = -1
    if any(v > 0 for v in done.values()):
        services.sender.notify()
    return done


async def periodic_tick(app: Application[Any, Any, Any, Any, Any, Any]) -> dict[str, int] | None:
    """What the periodic job runs: a tick, once the app is ready for one (None when not).

    After a restart, what members sent while the bot was down is handled first (the poller's
    `caught_up`, bot/delivery/inbox.py): a roll call that ended during the outage is closed
    after the check-ins sent in time, never before."""
    services = app.bot_data.get("services")
    ready = app.bot_data.get("inbound_ready")
    if services is None or (isinstance(ready, asyncio.Event) and not ready.is_set()):
        return None
    return await tick(services)


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await periodic_tick(context.application)


def install(app: Application[Any, Any, Any, Any, Any, Any], interval: float = TICK_SECONDS) -> None:
    """The periodic tick; a missed run is coalesced, never run twice in a row."""
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    app.job_queue.run_repeating(
        _job, interval=interval, first=1.0, name="studybot-tick",
        job_kwargs={"misfire_grace_time": int(interval * 3), "coalesce": True, "max_instances": 1},
    )
