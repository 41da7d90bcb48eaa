"""When a member sent an update (issue 15): `as_sent` bounds Telegram's date by the bot's
clock; `sent_at` takes a message's date (an edit's for an edited message) and, for a button
press, which carries none, when the inbox received it, else now."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from telegram import Update

from bot.core.clock import SENT_SKEW, as_sent
from bot.delivery.inbox import sent_at
from tests.helpers import TZ

NOW = dt.datetime(2026, 3, 2, 10, 36, tzinfo=TZ)
USER: dict[str, Any] = {"id": 7, "is_bot": False, "first_name": "T"}
CHAT: dict[str, Any] = {"id": 7, "type": "private"}


def _message(date: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": int(date.timestamp()), "chat": CHAT, "from": USER,
            "text": "/checkin", **extra}


def _update(**body: Any) -> Update:
    update = Update.de_json({"update_id": 41, **body}, None)
    assert update is not None
    return update


@pytest.mark.parametrize(("stamped", "expected"), [
    (None, NOW),  # no stamp: now
    (NOW - dt.timedelta(minutes=31), NOW - dt.timedelta(minutes=31)),  # sent before: as sent
    (NOW, NOW),
    (NOW + dt.timedelta(seconds=30), NOW),  # drift within the skew: now
    (NOW + SENT_SKEW + dt.timedelta(minutes=10), NOW),  # beyond the skew: now
])
def test_as_sent_is_the_stamp_never_after_now(
    stamped: dt.datetime | None, expected: dt.datetime
) -> None:
    assert as_sent(stamped, NOW) == expected


def test_as_sent_answers_in_the_clock_time_zone_and_logs_a_wrong_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    earlier = (NOW - dt.timedelta(minutes=5)).astimezone(dt.UTC)
    assert as_sent(earlier, NOW).tzinfo == TZ and as_sent(earlier, NOW) == earlier
    with caplog.at_level(logging.WARNING, logger="bot.core.clock"):
        as_sent(NOW + dt.timedelta(seconds=90), NOW)
        assert not caplog.records  # ordinary drift is not worth a line
        as_sent(NOW + SENT_SKEW + dt.timedelta(seconds=1), NOW)
    assert len(caplog.records) == 1 and "ahead of the bot's clock" in caplog.text


def test_a_message_counts_from_its_date_and_an_edit_from_its_edit_date() -> None:
    sent = NOW - dt.timedelta(minutes=31, seconds=7)
    assert sent_at(_update(message=_message(sent)), NOW) == sent
    edited = _message(sent - dt.timedelta(minutes=5), edit_date=int(sent.timestamp()))
    assert sent_at(_update(edited_message=edited), NOW) == sent
    future = NOW + dt.timedelta(hours=1)
    assert sent_at(_update(message=_message(future)), NOW) == NOW


class _Received:
    """Stands in for the inbox: knows when update 41 arrived."""

    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def received_at(self, update_id: int) -> dt.datetime | None:
        return self.when if update_id == 41 else None


def test_a_press_counts_from_when_the_inbox_received_it_else_now() -> None:
    button_message = _message(NOW - dt.timedelta(hours=2))  # the message the button is on
    press = _update(callback_query={"id": "q", "from": USER, "chat_instance": "c",
                                    "data": "leave:send:1", "message": button_message})
    assert sent_at(press, NOW) == NOW  # no inbox: now (not the button message's date)
    received = NOW - dt.timedelta(minutes=6)
    inbox: Any = _Received(received)
    assert sent_at(press, NOW, inbox) == received
    inbox = _Received(NOW + dt.timedelta(hours=1))  # a wrong clock: now
    assert sent_at(press, NOW, inbox) == NOW
