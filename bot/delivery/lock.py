"""One instance per database: the lock `studybot run` takes on `<db>.lock` before it starts.

Two bots on one database both poll Telegram and both drain the outbox (members got an
announcement twice), so the second one refuses to start. The lock is an OS file lock
(`fcntl.flock`, non-blocking) on a file next to the database: it lives exactly as long as the
process holding it, so a killed bot leaves nothing to clean up (the OS drops the lock with the
process) and no stale pid has to be judged. The file (created 0600) holds who has it, as JSON
(host, pid, since), for the refusal's message; it is rewritten by each holder, never deleted (a
deleted lock file lets two processes each lock a file of their own).

Imports, exports and backups are not instances and take no lock: they may run beside the bot.
The outbox sender asks `holds` whether this process is the database's one instance (then any
claim it finds on a row was made by a process that died, see bot/delivery/outbox.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.i18n import t

# A holder writes its JSON right after taking the lock; a refused start that read the file in
# between waits this long, at most, for it to appear.
_READ_TRIES, _READ_PAUSE = 20, 0.025

_held: dict[Path, InstanceLock] = {}


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as its file says (fields empty if it could not be read)."""

    host: str = ""
    pid: int | None = None
    since: str = ""  # ISO 8601, UTC


class InstanceBusy(Exception):
    """Another process holds the database's instance lock."""

    def __init__(self, db_path: Path, path: Path, holder: Holder) -> None:
        super().__init__(f"{path}: held by {holder.host} pid {holder.pid} since {holder.since}")
        self.db_path = db_path
        self.path = path
        self.holder = holder


def lock_path(db_path: str | Path) -> Path:
    """The lock file of a database: `<db>.lock` beside it."""
    return Path(f"{db_path}.lock")


def _key(db_path: str | Path) -> Path:
    return Path(db_path).resolve()


class InstanceLock:
    """The held lock; `release()` (or the process ending, however it ends) lets it go."""

    def __init__(self, db_path: Path, path: Path, fd: int) -> None:
        self.db_path = db_path
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _held.pop(self.db_path, None)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # nobody holds it now: leave no name in the file
        os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(db_path: str | Path, *, now: dt.datetime | None = None) -> InstanceLock:
    """Takes the instance lock of `db_path`, or raises InstanceBusy naming the holder."""
    key = _key(db_path)
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC (Python's default): a child process the bot starts does not keep the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise InstanceBusy(key, path, read_holder(path)) from None
        raise
    since = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    record = {"host": socket.gethostname(), "pid": os.getpid(),
              "since": since.isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
    lock = InstanceLock(key, path, fd)
    _held[key] = lock
    return lock


def read_holder(path: Path) -> Holder:
    """The holder the lock file names; waits briefly for a holder that has just taken it."""
    for attempt in range(_READ_TRIES):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            pid = data.get("pid")
            return Holder(host=str(data.get("host", "")),
                          pid=pid if isinstance(pid, int) else None,
                          since=str(data.get("since", "")))
        if attempt + 1 < _READ_TRIES:
            time.sleep(_READ_PAUSE)
    return Holder()


def refusal(exc: InstanceBusy, lang: str, tz: dt.tzinfo) -> str:
    """The one line a refused start prints: the database, and who holds it since when (in
    the programme's time zone)."""
    unknown = t(lang, "instance.unknown")
    since = unknown
    with contextlib.suppress(ValueError):
        since = dt.datetime.fromisoformat(exc.holder.since).astimezone(tz).strftime(
            "%Y-%m-%d %H:%M:%S %Z")
    return t(lang, "instance.busy", db=exc.db_path, host=exc.holder.host or unknown,
             pid=exc.holder.pid if exc.holder.pid is not None else unknown, since=since,
             lock=exc.path)


def holds(db_path: str | Path) -> bool:
    """Whether this process holds the instance lock of `db_path`."""
    if str(db_path) == ":memory:":
        return False
    return _key(db_path) in _held
