"""storage.where: optional filters become parameterised conditions, in order."""

from __future__ import annotations

import pytest

from storage.where import Where


@pytest.mark.parametrize(
    ("start", "end", "group", "sql", "params"),
    [
        (None, None, None, "a.status = 'scheduled'", []),
        ("S", None, None, "a.status = 'scheduled' AND a.start_at >= ?", ["S"]),
        (None, "E", None, "a.status = 'scheduled' AND a.start_at < ?", ["E"]),
        ("S", "E", 3, "a.status = 'scheduled' AND a.start_at >= ? AND a.start_at < ?"
         " AND m.group_id = ?", ["S", "E", 3]),
        (None, None, 0, "a.status = 'scheduled' AND m.group_id = ?", [0]),  # 0 is a value
    ],
)
def test_window_and_when(start: str | None, end: str | None, group: int | None, sql: str,
                         params: list[object]) -> None:
    where = (Where("a.status = 'scheduled'").window("a.start_at", start, end)
             .when(group, "m.group_id = ?"))
    assert (where.sql, where.params) == (sql, params)


def test_empty_clause_reads_true() -> None:
    assert Where().sql == "1" and Where().params == []
    assert Where().add("x = ? OR y = ?", 1, 2).sql == "x = ? OR y = ?"
