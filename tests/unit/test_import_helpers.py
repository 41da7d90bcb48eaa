"""The helpers the table imports and the export sheets share: `LineProblems` (the "line N:
reason" list every import validation reports) and `ExportFilter.stored_range` / `local_time`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.documents.exports import ExportFilter, local_time
from bot.documents.imports import LineProblems
from storage.db import ts

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_problems_come_back_in_line_order_keeping_one_lines_order() -> None:
    found = LineProblems("en", "roster.line")
    found.add(7, "roster.empty_name")
    found.add(3, "roster.too_long", column="name", length=70, limit=64)
    found.add(7, "roster.empty_member_id")
    found.add(3, "roster.empty_name")
    assert found.messages() == [
        "line 3: name is too long (70 characters, at most 64)",
        "line 3: name is empty",
        "line 7: name is empty",
        "line 7: member_id is empty",
    ]


def test_repeated_names_the_first_line_and_remembers_only_that() -> None:
    found = LineProblems("en", "roster.line")
    first: dict[str, int] = {}
    assert not found.repeated(first, "T1", 2, "roster.duplicate_member_id", member_id="T1")
    assert found.repeated(first, "T1", 5, "roster.duplicate_member_id", member_id="T1")
    assert found.repeated(first, "T1", 9, "roster.duplicate_member_id", member_id="T1")
    assert not found.repeated(first, "T2", 6, "roster.duplicate_member_id", member_id="T2")
    assert first == {"T1": 2, "T2": 6}
    assert found.messages() == [
        "line 5: member_id T1 is also on line 2",
        "line 9: member_id T1 is also on line 2",
    ]


def test_too_long_allows_the_limit_itself() -> None:
    found = LineProblems("en", "roster.line")
    assert not found.too_long(4, "roster.too_long", "group", "x" * 8, 8)
    assert found.too_long(4, "roster.too_long", "group", "x" * 9, 8)
    assert found.messages() == ["line 4: group is too long (9 characters, at most 8)"]


def test_stored_range_covers_whole_local_days() -> None:
    flt = ExportFilter(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 4))
    lo, hi = flt.stored_range(SHANGHAI)
    # Local midnight in Shanghai (UTC+8) is 16:00 UTC the day before; `to` is inclusive.
    assert (lo, hi) == ("2026-03-01 16:00:00", "2026-03-04 16:00:00")


def test_stored_range_open_ends() -> None:
    assert ExportFilter().stored_range(SHANGHAI) == (None, None)
    lo, hi = ExportFilter(date_to=dt.date(2026, 3, 4)).stored_range(SHANGHAI)
    assert lo is None and hi is not None


def test_local_time() -> None:
    assert local_time(None, SHANGHAI) is None
    assert local_time("", SHANGHAI) is None
    when = dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)
    assert local_time(ts(when), SHANGHAI) == when
