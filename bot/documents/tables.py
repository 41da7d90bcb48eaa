"""Reading uploaded tables (.csv and .xlsx) into plain rows of strings with their line numbers.

Every import (roster, schedule, books, exam results) starts here, so the rules are shared:
the header is matched case-insensitively ignoring surrounding spaces, cell values come back as
stripped strings, fully blank lines are skipped, and each row keeps the line number a person
sees in Excel or a text editor, so a problem can be reported as "line N: ...".

CSV is read as UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes; LF or CRLF line
ends), or else as GB18030 (a superset of the GBK Chinese Excel's plain "CSV" writes).

The header row must name every column once: an empty, merged, unknown or repeated header cell
refuses the file, naming the cell, because reading on would silently blank a field.

`parse_datetime` and `parse_date` read dates and times as Excel and people write them
(`2026/3/2 15:30`, `2026-3-2 9:05`, `2026年3月2日 15:30`, Excel serial numbers), for every
import that has a date column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Sequence
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


# Date parts: 2026-3-2, 2026/03/02, 2026.3.2 (one separator throughout) or 2026年3月2日.
_DATE = (
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日?)"
)
# Time parts: 9:05, 15:30:00(.000) with an ASCII or full-width colon, or 15时30分 / 15点30分.
_TIME = (
    r"(?P<H>\d{1,2})(?:\s*[:：]\s*(?P<M>\d{2})(?:\s*[:：]\s*(?P<S>\d{2})(?:\.\d+)?)?"
    r"|\s*[时点]\s*(?P<M2>\d{1,2})\s*分?)"
)
_OFFSET = r"(?P<tz>Z|[+-]\d{2}:?\d{2})"
_DATE_ONLY = re.compile(rf"^{_DATE}$")
_DATE_TIME = re.compile(rf"^{_DATE}(?:\s*T\s*|\s+|(?<=日))\s*{_TIME}\s*{_OFFSET}?$")
_SERIAL = re.compile(r"^\d+(?:\.\d+)?$")
# Excel's 1900 date system counts days from 1899-12-30 (from serial 61 on, past the 29 February
# 1900 it wrongly counts). Serials start at 10000 (1927-05-18): a shorter number, such as 2026,
# is far more likely a year or a typo than a date in the 1900s.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_SERIAL_RANGE = (10000.0, 2958465.0)  # 1927-05-18 .. 9999-12-31


def _excel_serial(text: str) -> dt.datetime | None:
    if not _SERIAL.match(text):
        return None
    value = float(text)
    if not _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
        return None
    # Rounded to the second: 15:30 is stored as 0.645833…, which must not read as 15:29:59.
    return _EXCEL_EPOCH + dt.timedelta(seconds=round(value * 86400))


def _ymd(m: re.Match[str]) -> tuple[int, int, int]:
    return int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"])


def parse_datetime(text: str) -> dt.datetime | None:
    """A date with a time of day as Excel or a person writes it, or None.

    Naive (local to the programme's time zone, which the caller attaches) unless the text ends
    in an offset (`Z`, `+08:00`). Accepts `2026-03-02 15:30`, `2026/3/2 15:30`, `2026-3-2 9:05`,
    `2026年3月2日 15:30` (also `15时30分`), ISO 8601 with `T`, seconds, and Excel serial numbers
    (`46083.645833`). A date without a time is not a time: None.
    """
    text = text.strip()
    # A whole serial is a date at midnight, i.e. a date without a time.
    serial = _excel_serial(text) if "." in text else None
    if serial is not None:
        return serial
    m = _DATE_TIME.match(text)
    if m is None:
        return None
    minute = m["M"] if m["M"] is not None else m["M2"]
    try:
        when = dt.datetime(*_ymd(m), int(m["H"]), int(minute), int(m["S"] or 0))
    except ValueError:  # 2026-02-30, 25:00, 15:75
        return None
    offset = m["tz"]
    if offset:
        if offset == "Z":
            return when.replace(tzinfo=dt.UTC)
        digits = offset[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if delta >= dt.timedelta(hours=24):
            return None
        when = when.replace(tzinfo=dt.timezone(-delta if offset[0] == "-" else delta))
    return when


def parse_date(text: str) -> dt.date | None:
    """A calendar date as Excel or a person writes it (`2026-03-02`, `2026/3/2`, `2026年3月2日`,
    a whole Excel serial number), or None. A date with a time of day is not a date: None."""
    text = text.strip()
    if _SERIAL.match(text):
        serial = _excel_serial(text) if "." not in text else None
        return serial.date() if serial is not None else None
    m = _DATE_ONLY.match(text)
    if m is None:
        return None
    try:
        return dt.date(*_ymd(m))
    except ValueError:
        return None


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column `index`: A, B, …, Z, AA, AB, …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Merged:
    """A merged range of an xlsx sheet: 1-based rows, 0-based columns, and its name (B1:C1)."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int
    name: str


def read_table(
    path: Path,
    columns: Sequence[str],
    *,
    optional: Sequence[str] = (),
    lang: str = DEFAULT_LANGUAGE,
) -> list[TableRow]:
    """The data rows of a .csv or .xlsx file (first sheet), keyed by the given column names.

    `columns` must all be present in the header, `optional` ones may be missing (their values
    are then ""). Raises TableError (messages in `lang`) when the file cannot be read or
    decoded, has an unsupported extension, lacks a column, or has a header cell that is
    empty, merged, unknown or repeated, or merged cells anywhere.
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
    merged: list[Merged] = []
    if suffix == ".csv":
        lines = _csv_lines(path, lang)
    else:
        lines, merged = _xlsx_lines(path, lang)
    return _rows(path, lines, merged, columns, optional, lang)


def _rows(
    path: Path,
    lines: list[tuple[int, list[str]]],
    merged: list[Merged],
    columns: Sequence[str],
    optional: Sequence[str],
    lang: str,
) -> list[TableRow]:
    wanted = list(dict.fromkeys([*columns, *optional]))
    content = [(line, cells) for line, cells in lines if any(cells)]
    if not content:
        raise TableError([t(lang, "table.empty", file=path.name)])
    (header_line, header_cells), data = content[0], content[1:]
    header = _header(path, header_line, header_cells, data, merged, columns, wanted, lang)
    rows: list[TableRow] = []
    for line, cells in data:
        values = {
            name: cells[idx] if idx < len(cells) else "" for name, idx in header.items()
        }
        for name in wanted:
            values.setdefault(name, "")
        rows.append(TableRow(line=line, values=values))
    return rows


def _header(
    path: Path,
    header_line: int,
    cells: list[str],
    data: list[tuple[int, list[str]]],
    merged: list[Merged],
    columns: Sequence[str],
    wanted: list[str],
    lang: str,
) -> dict[str, int]:
    """Column name -> index, for the wanted columns found in the header row.

    Every header cell must name a wanted column exactly once; anything else would leave a
    column read as blank or a value read under the wrong name, so it refuses the file."""
    file = path.name
    problems: list[str] = []
    in_header = [m for m in merged if m.first_row <= header_line <= m.last_row]
    covered: set[int] = set()
    for m in in_header:
        problems.append(t(lang, "table.merged_header", file=file, cells=m.name))
        # The first cell keeps its name; the others read as blank, and are not named again.
        covered.update(range(m.first_col + 1, m.last_col + 1))
    for m in merged:
        if m not in in_header and m.last_row > header_line:
            problems.append(t(lang, "table.merged_cells", file=file, cells=m.name))
    known = {normalize_header(name): name for name in wanted}
    positions: dict[str, list[int]] = {}
    last = max(idx for idx, cell in enumerate(cells) if cell)
    width = max(len(c) for _, c in [(header_line, cells), *data])
    for idx in range(width):
        cell = cells[idx] if idx < len(cells) else ""
        where = f"{column_letter(idx)}{header_line}"
        if idx in covered:
            continue
        if not cell:
            if idx < last:
                problems.append(t(lang, "table.empty_header", file=file, cell=where))
            else:
                # Past the last named column only a column with values matters: Excel often
                # keeps empty formatted cells there.
                first = next((ln for ln, c in data if idx < len(c) and c[idx]), None)
                if first is not None:
                    problems.append(
                        t(lang, "table.unnamed_values", file=file, cell=where, line=first)
                    )
            continue
        name = known.get(normalize_header(cell))
        if name is None:
            problems.append(
                t(lang, "table.unknown_column", file=file, cell=where, column=cell,
                  expected=", ".join(wanted))
            )
            continue
        positions.setdefault(name, []).append(idx)
    found: dict[str, int] = {}
    for name, at in positions.items():
        if len(at) > 1:
            problems.append(t(lang, "table.duplicate_column", file=file, column=name))
        found[name] = at[0]
    missing = [c for c in columns if c not in found]
    if missing:
        problems.insert(
            0,
            t(
                lang,
                "table.missing_columns",
                file=file,
                columns=", ".join(missing),
                expected=", ".join(wanted),
            ),
        )
    if problems:
        raise TableError(problems)
    return found


def _csv_lines(path: Path, lang: str) -> list[tuple[int, list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=exc.strerror or str(exc))]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Not UTF-8: Chinese Excel's plain CSV is GBK, which GB18030 extends. UTF-8 is tried
        # first because GBK text is almost never valid UTF-8, while the reverse often is.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise TableError(
                [t(lang, "table.unknown_encoding", file=path.name, line=line)]
            ) from None
    return _parse_csv(path, text, lang)


def _parse_csv(path: Path, text: str, lang: str) -> list[tuple[int, list[str]]]:
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
    return parsed


def _xlsx_lines(path: Path, lang: str) -> tuple[list[tuple[int, list[str]]], list[Merged]]:
    import openpyxl  # heavy; only imports need it

    try:
        # Not read-only: only a fully loaded sheet knows its merged cells.
        wb = openpyxl.load_workbook(path, data_only=True)
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
            return [], []
        ws = wb.worksheets[0]
        parsed: list[tuple[int, list[str]]] = []
        for line, row in enumerate(ws.iter_rows(), start=1):
            parsed.append(
                (line, [cell_text(c.value, getattr(c, "number_format", None)) for c in row])
            )
        merged = [
            Merged(r.min_row, r.max_row, r.min_col - 1, r.max_col - 1, r.coord)
            for r in sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col))
        ]
        return parsed, merged
    except Exception as exc:
        raise TableError(
            [t(lang, "table.unreadable", file=path.name, reason=type(exc).__name__)]
        ) from None
    finally:
        wb.close()
