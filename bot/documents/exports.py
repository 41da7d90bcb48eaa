"""Exports for HR's Excel: one sheet per record kind, as .xlsx (openpyxl) or UTF-8 CSV with BOM.

Each feature lists its exporter in bot/features.py (registered here by `features.install`): an
async function that reads its records and returns a `Sheet` (column names and rows of plain values;
dates and datetimes stay dates so Excel can sort and filter them). `studybot export <kind>`,
`studybot export all` and the in-chat /export all go through here, so every sheet looks the same.

Exporters speak in codes (`member_id`, `approved`, `attendance.present`, True); `localize` turns
a sheet into the programme's language for people — the sheet name, headers and coded values
from the catalogs (`export.<kind>.sheet`, `export.<kind>.col.<column>`, `export.value.*`),
booleans as 是/否 — and `--codes` skips it for scripts. Whole numbers lose their `.0` either way.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.core.config import Config
from bot.core.i18n import catalog, t
from storage.db import Database, open_database, parse_ts, private_file, ts


@dataclass(frozen=True)
class ExportFilter:
    """What to export: a date range (local dates, inclusive), optionally one group, and the
    moment it is taken at (`at`; None: now), which the summary's year and due reports use."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    group_id: int | None = None
    at: dt.datetime | None = None

    def contains(self, day: dt.date) -> bool:
        if self.date_from and day < self.date_from:
            return False
        return not (self.date_to and day > self.date_to)

    def stored_range(self, tz: dt.tzinfo) -> tuple[str | None, str | None]:
        """The stored-time range [from 00:00, the day after `to` 00:00) of the local dates in
        `tz`; None for an open end."""
        lo = ts(dt.datetime.combine(self.date_from, dt.time(), tz)) if self.date_from else None
        hi = (
            ts(dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tz))
            if self.date_to else None
        )
        return lo, hi


def local_time(text: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    """A stored time as the local datetime a sheet shows (None stays an empty cell)."""
    return parse_ts(text).astimezone(tz) if text else None


@dataclass
class Sheet:
    """A sheet: `kind` names its catalog entries (empty: shown as it is); `coded` maps a
    column to the value table (`export.value.<table>.<code>`) its codes are spelt from."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    kind: str = ""
    coded: dict[str, str] = field(default_factory=dict)


Exporter = Callable[[Database, Config, ExportFilter], Awaitable[Sheet]]

_EXPORTERS: dict[str, Exporter] = {}


def register(kind: str, fn: Exporter) -> None:
    """Registers the sheet of `kind`; bot.features.install registers them in workbook order."""
    _EXPORTERS[kind] = fn


def exporters() -> dict[str, Exporter]:
    """Every registered exporter, in workbook order."""
    return dict(_EXPORTERS)


def whole(value: Any) -> Any:
    """A float that is a whole number as an int (2.0 -> 2), so neither Excel nor CSV shows .0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _spelt(lang: str, table: str, code: Any) -> Any:
    """A stored code in words, from `export.value.<table>`; an unknown code stays as it is
    (a value a newer version wrote is still shown)."""
    if not isinstance(code, str) or not code:
        return code
    words = catalog(lang)
    if table == "source":  # "host:12": the kind of source and its reference
        prefix, _, ref = code.partition(":")
        template = words.get(f"export.value.source.{prefix}")
        return template.format(ref=ref) if template is not None and ref else code
    return words.get(f"export.value.{table}.{code}", code)


def localize(sheet: Sheet, lang: str) -> Sheet:
    """The sheet as people read it in `lang`: its name, headers, coded values and booleans
    from the catalogs. The rows keep the same (now localized) column names."""
    if not sheet.kind:
        return codes_only(sheet)
    prefix = f"export.{sheet.kind}"
    headers = {c: t(lang, f"{prefix}.col.{c}") for c in sheet.columns}
    yes, no = t(lang, "export.yes"), t(lang, "export.no")
    rows: list[dict[str, Any]] = []
    for row in sheet.rows:
        out: dict[str, Any] = {}
        for column in sheet.columns:
            value = row.get(column)
            if isinstance(value, bool):
                value = yes if value else no
            elif column in sheet.coded:
                value = _spelt(lang, sheet.coded[column], value)
            out[headers[column]] = whole(value)
        rows.append(out)
    return Sheet(t(lang, f"{prefix}.sheet"), [headers[c] for c in sheet.columns], rows)


def codes_only(sheet: Sheet) -> Sheet:
    """The sheet for scripts (`--codes`): its codes and English headers, whole numbers as ints."""
    rows = [{c: whole(row.get(c)) for c in sheet.columns} for row in sheet.rows]
    return Sheet(sheet.kind or sheet.name, list(sheet.columns), rows, sheet.kind,
                 dict(sheet.coded))


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(sheet: Sheet, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(sheet.columns)
    for row in sheet.rows:
        writer.writerow([cell_text(row.get(c)) for c in sheet.columns])


def write_csv_file(sheet: Sheet, path: Path) -> None:
    """UTF-8 with BOM, so Excel opens Chinese text correctly; owner-only (0600)."""
    private_file(path)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        write_csv(sheet, fh)


def write_xlsx(sheets: list[Sheet], out: Path | IO[bytes]) -> None:
    """A workbook with one sheet each: bold frozen header, filters, widths, real dates; a file
    is owner-only (0600)."""
    import openpyxl  # heavy: imported only when exporting
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet.name[:31])
        ws.append(sheet.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths = [_width(c) for c in sheet.columns]
        for row in sheet.rows:
            values = []
            for i, column in enumerate(sheet.columns):
                value = row.get(column)
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value = value.replace(tzinfo=None)  # Excel has no time zones: local time
                values.append(value)
                widths[i] = max(widths[i], _width(cell_text(value)))
            ws.append(values)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        for col in ws.iter_cols(min_row=2):
            for cell in col:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
        if sheet.columns:
            last = get_column_letter(len(sheet.columns))
            ws.auto_filter.ref = f"A1:{last}{max(len(sheet.rows) + 1, 1)}"
    if not wb.worksheets:
        wb.create_sheet(title="empty")
    if not hasattr(out, "write"):
        private_file(out)  # owner-only before it is written: personal data
    wb.save(out)


def _width(text: str) -> int:
    # CJK characters are about twice as wide as Latin ones in Excel.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_bytes(sheets: list[Sheet]) -> bytes:
    buf = io.BytesIO()
    write_xlsx(sheets, buf)
    return buf.getvalue()


async def collect(
    db: Database, cfg: Config, kinds: list[str] | None, flt: ExportFilter, *,
    lang: str | None = None,
) -> list[Sheet]:
    """The sheets of `kinds` (default: every kind, each with its header row even when empty):
    for people in `lang` (the CLI and /export pass the programme's), else in codes."""
    available = exporters()
    chosen = kinds or list(available)
    sheets = [await available[k](db, cfg, flt) for k in chosen]
    if lang is None:
        return [codes_only(s) for s in sheets]
    return [localize(s, lang) for s in sheets]


SUFFIXES = {".csv": "csv", ".xlsx": "xlsx"}


def output_format(out: str | None, fmt: str | None) -> tuple[str, str | None]:
    """The format and the problem (a catalog key) of `--out` and `--format`: `--out`'s
    extension decides (`-` is standard output, CSV); `--format` may only agree with it."""
    if out is None or out == "-":
        return fmt or "csv", None
    wanted = SUFFIXES.get(Path(out).suffix.lower())
    if wanted is None:
        return fmt or "", None if fmt else "export.unknown_suffix"
    if fmt is not None and fmt != wanted:
        return fmt, "export.bad_out"
    return wanted, None


async def cli_export(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot export <kind>|all [--format] [--from] [--to] [--out FILE|-] [--codes]`."""
    kind: str = args.export_command
    lang = cfg.program.language
    out_arg: str | None = None if args.out is None else str(args.out)
    fmt, problem = output_format(out_arg, args.format)
    if problem is not None:
        print(t(lang, problem, file=out_arg, format=fmt), file=sys.stderr)
        return 2
    flt = ExportFilter(args.date_from, args.date_to)
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        print(t(lang, "export.bad_range", start=flt.date_from, end=flt.date_to), file=sys.stderr)
        return 2
    if fmt == "csv" and kind == "all":
        print(t(lang, "export.csv_one_kind"), file=sys.stderr)
        return 2
    to_stdout = out_arg is None or out_arg == "-"
    if fmt == "xlsx" and to_stdout:
        print(t(lang, "export.need_out"), file=sys.stderr)
        return 2
    db = await open_database(cfg.db_path)
    try:
        sheets = await collect(db, cfg, None if kind == "all" else [kind], flt,
                               lang=None if getattr(args, "codes", False) else lang)
    finally:
        await db.close()
    if to_stdout:
        write_csv(sheets[0], sys.stdout)
        return 0
    out = Path(out_arg or "")
    rows = sum(len(s.rows) for s in sheets)
    if fmt == "csv":
        write_csv_file(sheets[0], out)
        print(t(lang, "export.written_csv", file=out, rows=rows), file=sys.stderr)
    else:
        write_xlsx(sheets, out)
        print(t(lang, "export.written", file=out, rows=rows, sheets=len(sheets)), file=sys.stderr)
    return 0
