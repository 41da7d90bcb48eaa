"""Dates and times as Excel and people write them (bot.documents.tables.parse_datetime/_date)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.documents.tables import parse_date, parse_datetime

AT = dt.datetime(2026, 3, 2, 15, 30)
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 15:30", AT),
        ("2026/3/2 15:30", AT),
        ("2026/03/02 15:30:00", AT),
        ("2026-3-2 9:05", dt.datetime(2026, 3, 2, 9, 5)),
        ("2026.3.2 15:30", AT),
        ("2026年3月2日 15:30", AT),
        ("2026年3月2日15:30", AT),
        ("2026年3月2日 15时30分", AT),
        ("2026年3月2日 15点30", AT),
        ("2026/3/2 15：30", AT),
        ("  2026/3/2   15:30  ", AT),
        ("2026-03-02T15:30", AT),
        ("2026-03-02 15:30:00.000", AT),
        ("2026-03-02T15:30:00+08:00", AT.replace(tzinfo=CST)),
        ("2026-03-02 07:30Z", dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)),
        ("2026-03-02 15:30 +0800", AT.replace(tzinfo=CST)),
        # Excel serials: 46083 is 2026-03-02; .645833… is 15:30 and must not read 15:29:59.
        ("46083.6458333333", AT),
        ("46083.645833", AT),
        ("46083.375", dt.datetime(2026, 3, 2, 9, 0)),
        # Not a date with a time.
        ("2026-03-02", None),
        ("2026/3/2", None),
        ("46083", None),
        ("15:30", None),
        ("", None),
        ("明天下午", None),
        ("2026/3-2 15:30", None),
        ("2026-02-30 15:30", None),
        ("2026-03-02 24:00", None),
        ("2026-03-02 15:75", None),
        ("2026-13-02 15:30", None),
        ("2026-03-02 15:30 +25:00", None),
        ("26/3/2 15:30", None),
        ("3/2/2026 15:30", None),
        ("12.5", None),
        ("99999999.5", None),
    ],
)
def test_parse_datetime(text: str, expected: dt.datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02", dt.date(2026, 3, 2)),
        ("2026/3/2", dt.date(2026, 3, 2)),
        ("2026-3-2", dt.date(2026, 3, 2)),
        ("2026年3月2日", dt.date(2026, 3, 2)),
        ("2026年3月2", dt.date(2026, 3, 2)),
        ("46083", dt.date(2026, 3, 2)),
        ("10000", dt.date(1927, 5, 18)),
        ("9999", None),  # a short number is a year or a typo, not a date in the 1900s
        ("46083.5", None),
        ("2026-03-02 15:30", None),
        ("2026-02-29", None),
        ("2026", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected
