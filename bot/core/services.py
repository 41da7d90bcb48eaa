"""What every handler needs, created in post_init and closed in post_shutdown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.i18n import lang_of, t
from bot.delivery.outbox import OutboxSender
from storage.db import Database, ts
from storage.models import Member


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    sender: OutboxSender
    bot_username: str
    bot: Bot
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def now_ts(self) -> str:
        return ts(self.clock.now())

    @property
    def default_language(self) -> str:
        return self.config.program.language


class StudyContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, plus the sender's member record (loaded once by the gatekeeper)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.member: Member | None = None
        # Set by the gatekeeper from the member record or the configured default.
        self.lang: str = "zh"

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    def t(self, key: str, /, **params: Any) -> str:
        """A message in the current user's language."""
        return t(self.lang, key, **params)



def member_language(member: Member | None, services: Services) -> str:
    return lang_of(member, services.config)
