"""Reading uploaded tables (.csv and .xlsx) into plain rows of strings with their line numbers.

Every import (roster, schedule, books, exam results) starts here, so the rules are shared:
the header is matched case-insensitively ignoring surrounding spaces, cell values come back as
stripped strings, fully blank lines are skipped, and each row keeps the line number a person
sees in Excel or a text editor, so a problem can be reported as "line N: ...".

CSV must be UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes; LF or CRLF line ends).
Chinese Excel's plain "CSV" is GBK, which is refused with a hint rather than guessed at.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.i18n import DEFAULT_LANGUAGE, t

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx")


class TableError(Exception):
    """The table cannot be used at all; `problems` says why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TableRow:
    """One non-blank data line: its line number (header = 1) and the wanted columns' values."""

    line: int
    values: dict[str, str]


def normalize_header(name: str) -> str:
    """The form header cells are compared in."""
    return name.strip().casefold()


def cell_text(value: Any, number_format: str | None = None) -> str:
    """A spreadsheet cell's value as the text a person would type for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        # Excel stores a date as a datetime at midnight; its number format tells them apart.
        if value.time() == dt.time() and "h" not in (number_format or "").lower():
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def finite_number(text: str) -> float | None:
    """A cell's text as a finite number, or None (empty, not a number, inf, nan)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_table(
    path: Path,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    lang: str = DEFAULT_LANGUAGE,
) -> list[TableRow]:
    """The data rows of a .csv or .xlsx file (first sheet), keyed by the given column names.

    `columns` must all be present in the header, `optional` ones may be missing (their values
    are then ""). Other columns are ignored. Raises TableError (messages in `lang`) when the
    file cannot be read, is not UTF-8, has an unsupported extension or lacks a column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise TableError(
            [
                t(
                    lang,
                    "table.unsupported",
                    file=path.name,
                    suffixes=", ".join(SUPPORTED_SUFFIXES),
                )
            ]
        )
    lines = _csv_lines(path, lang) if suffix == ".csv" else _xlsx_lines(path, lang)
    return _rows(path, lines, columns, optional, lang)


def _rows(
    path: Path,
    lines: Iterator[tuple[int, list[str]]],
    columns: Sequence[str],
    optional: Sequence[str],
    lang: str,
) -> list[TableRow]:
    wanted = list(dict.fromkeys([*columns, *optional]))
    header: dict[str, int] | None = None
    rows: list[TableRow] = []
    for line, cells in lines:
        if not any(cells):
            continue
        if header is None:
            header = _header(path, cells, columns, wanted, lang)
            continue
        values = {
            name: cells[idx] if idx < len(cells) else "" for name, idx in header.items()
        }
        for name in wanted:
            values.setdefault(name, "")
        rows.append(TableRow(line=line, values=values))
    if header is None:
        raise TableError([t(lang, "table.empty", file=path.name)])
    return rows


def _header(
    path: Path, cells: list[str], columns: Sequence[str], wanted: list[str], lang: str
) -> dict[str, int]:
    """Column name -> index, for the wanted columns found in the header row."""
    positions: dict[str, list[int]] = {}
    for idx, cell in enumerate(cells):
        positions.setdefault(normalize_header(cell), []).append(idx)
    found: dict[str, int] = {}
    problems: list[str] = []
    for name in wanted:
        at = positions.get(normalize_header(name))
        if not at:
            continue
        if len(at) > 1:
            problems.append(t(lang, "table.duplicate_column", file=path.name, column=name))
        found[name] = at[0]
    missing = [c for c in columns if c not in found]
    if missing:
        problems.insert(
            0,
            t(
                lang,
                "table.missing_columns",
                file=path.name,
                columns=", ".join(missing),
                expected=", ".join(wanted),
            ),
        )
    if problems:
        raise TableError(problems)
    return found


def _csv_lines(path: Path, lang: str) -> Iterator[tuple[int, list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=exc.strerror or str(exc))]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TableError([t(lang, "table.not_utf8", file=path.name, line=line)]) from None
    return _parse_csv(path, text, lang)


def _parse_csv(path: Path, text: str, lang: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    parsed: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            # A quoted cell may span lines; the row is reported where it starts.
            parsed.append((start, [cell.strip() for cell in record]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TableError(
            [t(lang, "table.bad_csv", file=path.name, line=reader.line_num, reason=str(exc))]
        ) from None
    return iter(parsed)


def _xlsx_lines(path: Path, lang: str) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # heavy; only imports need it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=exc.strerror or str(exc))]
        ) from None
    except Exception as exc:  # BadZipFile, KeyError, openpyxl's own: not a workbook we can read
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=type(exc).__name__)]
        ) from None
    try:
        if not wb.worksheets:
            return iter(())
        ws = wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            # Some writers store a wrong sheet size; read what is actually there.
            ws.reset_dimensions()
        parsed: list[tuple[int, list[str]]] = []
        for line, row in enumerate(ws.iter_rows(), start=1):
            parsed.append(
                (line, [cell_text(c.value, getattr(c, "number_format", None)) for c in row])
            )
        return iter(parsed)
    except Exception as exc:
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=type(exc).__name__)]
        ) from None
    finally:
        wb.close()
