"""Multi-step input: which feature is waiting for this user's next message.

Several features ask for free input (a check-in code after /checkin, a reason for leave, a
reflection). Rather than letting their message handlers compete for every text, a feature
starts a dialog with `begin(context, "feature", step=..., **state)`; the one input handler
(handlers/dialog.py) hands the user's next message (text, document, photo, location) to the
function the feature registered with `on_input`. Any command ends a pending dialog, `/cancel`
says so. State lives in `user_data` (in memory): a half-filled form may be lost on restart,
but nothing the bot said was saved is ever lost, because saving happens in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import Update

if TYPE_CHECKING:
    from bot.services import StudyContext

InputHandler = Callable[[Update, "StudyContext", dict[str, Any]], Awaitable[None]]

_HANDLERS: dict[str, InputHandler] = {}
KEY = "dialog"


def on_input(feature: str) -> Callable[[InputHandler], InputHandler]:
    """Registers the function that receives input for dialogs of `feature`."""

    def wrap(fn: InputHandler) -> InputHandler:
        _HANDLERS[feature] = fn
        return fn

    return wrap


def handler_for(feature: str) -> InputHandler | None:
    return _HANDLERS.get(feature)


def begin(context: StudyContext, feature: str, **state: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"feature": feature, **state}
    assert context.user_data is not None
    context.user_data[KEY] = data
    return data


def current(context: StudyContext) -> dict[str, Any] | None:
    if context.user_data is None:
        return None
    data: dict[str, Any] | None = context.user_data.get(KEY)
    return data


def end(context: StudyContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)
