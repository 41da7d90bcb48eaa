"""The fixtures every test folder shares, built on tests/helpers.py.

- `h`: a bot on a fresh database with SMALL_ROSTER, talking to the sandbox. A module changes
  how it starts with `pytestmark = pytest.mark.bot(...)` (running_bot's keyword arguments), and
  adds its own data by overriding `h` with a fixture of the same name that takes this one.
- `db`: an empty, migrated database in the test's temporary folder.
- `crash`: a Crash (updates stored in the inbox but never handled), undone at the end.
- `no_token_env`: STUDYBOT_TOKEN unset, so a CLI test reads its token from its config only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.db import Database, open_database
from tests.helpers import Crash, Harness, running_bot


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bot(**options): keyword arguments for running_bot behind the `h` fixture"
    )


@pytest.fixture
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    marker = request.node.get_closest_marker("bot")
    options = dict(marker.kwargs) if marker else {}
    async with running_bot(tmp_path, **options) as harness:
        yield harness


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "db.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def crash(monkeypatch: pytest.MonkeyPatch) -> Iterator[Crash]:
    c = Crash(monkeypatch)
    yield c
    c.end()


@pytest.fixture
def no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDYBOT_TOKEN", raising=False)
