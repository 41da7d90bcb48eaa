"""Wiring: builds the PTB Application, its services, and starts/stops it in polling or webhook mode.

Services (database, outbox sender) are created in `post_init` and closed in `post_shutdown`,
as in the PTB team's own bots. Updates from different users run concurrently; updates from the
same user run one after another, so a user's messages are handled in the order they were sent.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
)
from telegram.request import HTTPXRequest

from bot.core import commands
from bot.core.clock import Clock, SystemClock
from bot.core.config import Config, require_token
from bot.core.services import Services, StudyContext
from bot.delivery.inbox import Inbox, InboxApplication, Poller
from bot.delivery.outbox import OutboxSender
from bot.delivery.telegram import PerUserUpdateProcessor, StudyBot
from storage.db import open_database, private_dirs

log = logging.getLogger(__name__)

StudyApp = Application[Any, StudyContext, Any, Any, Any, Any]


@dataclass
class AppOptions:
    """Knobs tests and the demo turn; production uses the defaults."""

    clock: Clock | None = None
    sender_poll_interval: float = 1.0
    start_sender: bool = True
    # Tests and the demo tick by hand after moving the clock.
    tick_interval: float | None = 20.0
    rate_limiter: bool = True


def build_application(cfg: Config, options: AppOptions | None = None) -> StudyApp:
    """The Application with every handler registered; services start in post_init."""
    opts = options or AppOptions()
    token = require_token(cfg)
    bot = StudyBot(
        token,
        base_url=cfg.telegram.base_url,
        base_file_url=cfg.telegram.base_file_url,
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=10.0),
        get_updates_request=HTTPXRequest(connection_pool_size=2),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=StudyContext))
        .concurrent_updates(PerUserUpdateProcessor(256))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .application_class(InboxApplication)
    )
    app: StudyApp = builder.build()
    app.bot_data["config"] = cfg
    app.bot_data["options"] = opts

    from bot import features

    features.register_handlers(app)
    if opts.tick_interval:
        from bot.core import scheduler

        scheduler.install(app, opts.tick_interval)
    return app


def _outbox_bot(cfg: Config, opts: AppOptions) -> ExtBot[Any]:
    """The bot the outbox sends with: overall ~30/s and 20/min per group (AIORateLimiter);
    429s are left to the sender, which reschedules the row instead of sleeping."""
    limiter = None
    if opts.rate_limiter:
        limiter = AIORateLimiter(
            overall_max_rate=cfg.outbox.overall_per_second,
            overall_time_period=1,
            group_max_rate=cfg.outbox.group_per_minute,
            group_time_period=60,
            max_retries=0,
        )
    return ExtBot(
        cfg.telegram.token,
        base_url=cfg.telegram.base_url,
        base_file_url=cfg.telegram.base_file_url,
        request=HTTPXRequest(connection_pool_size=max(8, cfg.outbox.concurrency + 4)),
        rate_limiter=limiter,
    )


async def _post_init(app: StudyApp) -> None:
    cfg: Config = app.bot_data["config"]
    opts: AppOptions = app.bot_data["options"]
    clock = opts.clock or SystemClock(cfg.tz)
    db = await open_database(cfg.db_path)
    private_dirs(cfg.files_dir)  # uploads hold personal data: 0700 when the bot makes it
    username = cfg.telegram.username or (app.bot.username or "")
    # Answers to a user's own message go straight out (they are paced by the user); the
    # outbox, which fans out to many chats, goes through its own bot with the rate limiter.
    outbox_bot = _outbox_bot(cfg, opts)
    await outbox_bot.initialize()
    app.bot_data["outbox_bot"] = outbox_bot
    sender = OutboxSender(
        db, outbox_bot, clock, cfg.outbox, poll_interval=opts.sender_poll_interval
    )
    services = Services(
        config=cfg, db=db, clock=clock, sender=sender, bot_username=username, bot=app.bot
    )
    app.bot_data["services"] = services
    default_cmds = [BotCommand(n, d) for n, d in commands.describe("trainee", cfg.program.language)
                    if n in ("start", "help")]
    await app.bot.set_my_commands(default_cmds)
    if opts.start_sender:
        sender.start()
    log.info("studybot ready as @%s", username)


async def _post_shutdown(app: StudyApp) -> None:
    services: Services | None = app.bot_data.pop("services", None)
    if services is None:
        return
    for task in list(services.extras.get("tasks", ())):
        task.cancel()
    await services.sender.stop()
    outbox_bot = app.bot_data.pop("outbox_bot", None)
    if outbox_bot is not None:
        await outbox_bot.shutdown()
    await services.db.close()


def services_of(app: StudyApp) -> Services:
    services: Services = app.bot_data["services"]
    return services


async def start_app(app: StudyApp) -> None:
    """Initialises and starts the app, resumes saved dialogs, replays what the inbox holds
    from an earlier run, then starts the update source (polling or webhook); see
    bot/delivery/inbox.py."""
    cfg: Config = app.bot_data["config"]
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    services = services_of(app)
    inbox = Inbox(app, services.db)
    # Half-finished dialogs first: a replayed step finds the state it was first handled with.
    await inbox.dialogs.restore(services.db, app.user_data, services.clock.now(),
                                cfg.dialog.resume_hours)
    app.bot_data["inbox"] = inbox
    await inbox.replay()
    assert app.updater is not None
    if cfg.telegram.mode == "webhook":
        wh = cfg.telegram.webhook
        # PTB's webhook handler puts each update into the updater's queue before answering
        # 200: this queue stores it in the inbox first.
        app.updater.update_queue = inbox.webhook_queue()
        await app.updater.start_webhook(
            listen=wh.listen,
            port=wh.port,
            url_path=wh.path,
            webhook_url=wh.url,
            secret_token=wh.secret_token,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
    else:
        await app.bot.delete_webhook()
        poller = Poller(app, inbox)
        app.bot_data["poller"] = poller
        app.bot_data["inbound_ready"] = poller.caught_up  # the scheduler's tick waits for it
        poller.start(await inbox.first_offset())


async def stop_app(app: StudyApp) -> None:
    """Stops taking updates, lets in-flight ones finish, then closes services."""
    poller: Poller | None = app.bot_data.pop("poller", None)
    if poller is not None:
        await poller.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()  # waits for in-flight updates
    inbox: Inbox | None = app.bot_data.pop("inbox", None)
    if inbox is not None:
        await inbox.flush()  # the last finished rows' delete
    if app.post_stop:
        await app.post_stop(app)
    with contextlib.suppress(Exception):
        await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)
