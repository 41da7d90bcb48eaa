"""The instance lock (bot/delivery/lock.py): one holder per database, named in its file."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.delivery import lock
from tests.helpers import said

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock")

SINCE = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


def test_a_second_taker_is_refused_with_the_holders_name(tmp_path: Path) -> None:
    db = tmp_path / "data" / "studybot.sqlite3"  # its directory need not exist yet
    with lock.acquire(db, now=SINCE) as held:
        assert held.path == tmp_path / "data" / "studybot.sqlite3.lock"
        assert held.path.stat().st_mode & 0o777 == 0o600
        assert lock.holds(db)
        with pytest.raises(lock.InstanceBusy) as refused:
            lock.acquire(db)  # a second descriptor, as a second process would open
        holder = refused.value.holder
        assert holder == lock.Holder(socket.gethostname(), os.getpid(), "2026-03-02T01:30:00+00:00")
        line = lock.refusal(refused.value, "en", ZoneInfo("Asia/Shanghai"))
        assert "\n" not in line
        assert said(line, "instance.busy", lang="en", db=db, host=socket.gethostname(),
                    pid=os.getpid(), since="2026-03-02 09:30:00 CST")
    assert not lock.holds(db)
    assert held.path.read_text(encoding="utf-8") == ""  # released: names nobody
    with lock.acquire(db):  # free again
        pass


def test_a_holder_that_cannot_be_read_is_unknown(tmp_path: Path) -> None:
    busy = lock.InstanceBusy(tmp_path / "x.sqlite3", tmp_path / "x.sqlite3.lock", lock.Holder())
    line = lock.refusal(busy, "zh", ZoneInfo("Asia/Shanghai"))
    assert said(line, "instance.busy", host="未知", pid="未知", since="未知")


def test_other_databases_and_memory_are_not_held(tmp_path: Path) -> None:
    with lock.acquire(tmp_path / "a.sqlite3"):
        assert not lock.holds(tmp_path / "b.sqlite3")
        assert not lock.holds(":memory:")
        with lock.acquire(tmp_path / "b.sqlite3"):
            assert lock.holds(tmp_path / "b.sqlite3")
