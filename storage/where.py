"""A WHERE clause built from optional filters, its text and parameters kept together.

The export and listing queries share the same shape: a fixed condition or two, then "activities
starting in [from, to)" and "only this group" when those are given. The text is parameterised
only (every value a `?`); an empty clause reads `1`.
"""

from __future__ import annotations

from collections.abc import Sequence


class Where:
    """Conditions joined with AND, and the parameters of their `?`s in order."""

    def __init__(self, *conditions: str) -> None:
        self.conditions: list[str] = list(conditions)
        self.params: list[object] = []

    def add(self, condition: str, *params: object) -> Where:
        self.conditions.append(condition)
        self.params.extend(params)
        return self

    def when(self, value: object | None, condition: str) -> Where:
        """`condition` (with one `?` for `value`) unless `value` is None."""
        return self if value is None else self.add(condition, value)

    def window(self, column: str, start: str | None, end: str | None) -> Where:
        """`column` in [start, end); an open side when None."""
        return self.when(start, f"{column} >= ?").when(end, f"{column} < ?")

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) or "1"

    def among(self, column: str, values: Sequence[object]) -> Where:
        """`column` is one of `values` (a fixed, trusted column name; one `?` per value)."""
        return self.add(f"{column} IN ({','.join('?' * len(values))})", *values)
