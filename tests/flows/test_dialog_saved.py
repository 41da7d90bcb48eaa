"""SavedDialogs: which dialog states need a database write after an update (none on the hot
path), and states that are not JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.core.dialog import KEY, SavedDialogs

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def now() -> dt.datetime:
    return NOW


def test_no_dialog_before_or_after_writes_nothing() -> None:
    saved = SavedDialogs()
    assert saved.after_update(1, None, now) is False
    assert saved.after_update(1, {"other": 1}, now) is False
    assert not saved.pending


def test_a_change_is_written_once_and_the_end_deletes() -> None:
    saved = SavedDialogs()
    data: dict[str, Any] = {KEY: {"feature": "leave", "step": "reason"}}
    assert saved.after_update(1, data, now)
    assert not saved.after_update(1, data, now)  # unchanged: no second write
    data[KEY]["step"] = "confirm"  # mutated in place, as handlers do
    assert saved.after_update(1, data, now)
    assert saved.take() == [(1, '{"feature":"leave","step":"confirm"}', "2026-03-02 09:00:00")]
    del data[KEY]
    assert saved.after_update(1, data, now)
    assert saved.take() == [(1, None, "2026-03-02 09:00:00")]
    assert not saved.after_update(1, data, now)


@pytest.mark.parametrize("value", [NOW, {1, 2}, float("nan"), object()])
def test_a_state_that_is_not_json_is_not_saved_and_its_old_row_goes(value: object) -> None:
    saved = SavedDialogs()
    data: dict[str, Any] = {KEY: {"feature": "leave", "step": "reason"}}
    assert saved.after_update(1, data, now)
    saved.take()
    data[KEY]["when"] = value
    assert saved.after_update(1, data, now)
    assert saved.take() == [(1, None, "2026-03-02 09:00:00")]  # the older step is deleted
    assert not saved.after_update(1, data, now)  # and not deleted again and again


def test_a_failed_write_is_written_again_by_the_next_update() -> None:
    saved = SavedDialogs()
    data: dict[str, Any] = {KEY: {"feature": "leave", "step": "reason"}}
    saved.after_update(1, data, now)
    saved.failed(saved.take())
    assert saved.after_update(1, data, now)
