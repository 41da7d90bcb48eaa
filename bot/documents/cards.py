"""Printable cut-out cards: an A4 PDF of equal cards, each with a QR code and a few lines.

Used for the invites (`bot/members/invites.py`): HR prints the sheet, cuts along the dashed
lines and hands each member their own card. The PDF is written with fpdf2 and the Noto Sans SC
font of the `pylopdf-fonts-zh-cn` package (the one the charts use), embedded as a subset, so
Chinese names print on any printer and the text can be searched and copied. The caller gives
the words (in the programme's language); this module only lays them out.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import segno
from fpdf import FPDF

from bot.documents.charts import package_font
from storage.db import private_file

# A4 portrait in millimetres, two columns of four cards: each card 95 × 69 mm, large enough for
# a QR code a phone reads from arm's length and a name in large type.
PAGE_FORMAT = "A4"
PAGE_W, PAGE_H = 210.0, 297.0
COLUMNS, ROWS = 2, 4
MARGIN_X, MARGIN_Y = 10.0, 10.5
CARD_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS
CARD_H = (PAGE_H - 2 * MARGIN_Y) / ROWS
PADDING = 4.0
QR_SIZE = 38.0
FONT = "cards"
HEADING_PT, DETAIL_PT, CODE_PT, NOTE_PT = 16.0, 10.0, 15.0, 8.5
MIN_PT, MIN_HEADING_PT = 6.0, 9.0
PT_TO_MM = 25.4 / 72
ELLIPSIS = "…"


class NoFont(RuntimeError):
    """No font with Chinese glyphs could be found: the PDF would print boxes."""


@dataclass(frozen=True, slots=True)
class Card:
    """One card: a heading (the name), detail lines, a code in large type, the QR's content and
    notes (what to do) across the bottom."""

    heading: str
    code: str
    qr: str
    details: Sequence[str] = ()
    notes: Sequence[str] = field(default_factory=tuple)


def _positions() -> Iterator[tuple[float, float]]:
    """Top-left corners of the cards of one page, row by row."""
    for row in range(ROWS):
        for col in range(COLUMNS):
            yield MARGIN_X + col * CARD_W, MARGIN_Y + row * CARD_H


def write_cards(cards: Sequence[Card], path: Path, *, font_file: Path | None = None) -> Path:
    """Writes `cards` to `path` (owner-only: the codes register whoever uses them), eight to an
    A4 page; an empty list writes one empty page. Raises NoFont without a CJK font."""
    font = font_file or package_font()
    if font is None or not Path(font).is_file():
        raise NoFont("no CJK font: install pylopdf-fonts-zh-cn")
    pdf = FPDF(orientation="portrait", unit="mm", format=PAGE_FORMAT)
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font(FONT, fname=str(font))
    pdf.set_creator("studybot")
    per_page = COLUMNS * ROWS
    for start in range(0, max(len(cards), 1), per_page):
        pdf.add_page()
        _cut_lines(pdf)
        for card, (x, y) in zip(cards[start:start + per_page], _positions(), strict=False):
            _card(pdf, card, x, y)
    out = private_file(Path(path))
    pdf.output(str(out))
    return out


def _cut_lines(pdf: FPDF) -> None:
    """Dashed lines around every card of the page, to cut along."""
    pdf.set_draw_color(150, 150, 150)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=2, gap=1.5)
    for col in range(COLUMNS + 1):
        x = MARGIN_X + col * CARD_W
        pdf.line(x, MARGIN_Y, x, PAGE_H - MARGIN_Y)
    for row in range(ROWS + 1):
        y = MARGIN_Y + row * CARD_H
        pdf.line(MARGIN_X, y, PAGE_W - MARGIN_X, y)
    pdf.set_dash_pattern()


def _fit(
    pdf: FPDF, text: str, width: float, size: float, smallest: float = MIN_PT
) -> tuple[str, float]:
    """`text` at the largest size down to `smallest` that fits `width`; below that, shortened
    with an ellipsis (a long name must not run into the next card)."""
    while size > smallest:
        pdf.set_font(FONT, size=size)
        if pdf.get_string_width(text) <= width:
            return text, size
        size -= 0.5
    pdf.set_font(FONT, size=smallest)
    while text and pdf.get_string_width(text + ELLIPSIS) > width:
        text = text[:-1]
    return (text + ELLIPSIS if text else ""), smallest


def _line(
    pdf: FPDF, text: str, x: float, y: float, width: float, size: float,
    smallest: float = MIN_PT,
) -> float:
    """Writes one line with its top at `y`; returns the y below it."""
    shown, size = _fit(pdf, text, width, size, smallest)
    height = size * PT_TO_MM * 1.35
    pdf.set_xy(x, y)
    pdf.cell(width, height, shown)
    return y + height


def _card(pdf: FPDF, card: Card, x: float, y: float) -> None:
    pdf.set_text_color(0, 0, 0)
    png = io.BytesIO()
    # border 0: the card's padding is the quiet zone; scale only sets the PNG's resolution.
    segno.make_qr(card.qr, error="m").save(png, kind="png", scale=10, border=0)
    png.seek(0)
    left, top = x + PADDING, y + PADDING
    pdf.image(png, x=left + 1, y=top + 1, w=QR_SIZE - 2, h=QR_SIZE - 2)
    text_x = left + QR_SIZE + PADDING
    text_w = x + CARD_W - PADDING - text_x
    cursor = _line(pdf, card.heading, text_x, top, text_w, HEADING_PT, MIN_HEADING_PT) + 1
    for detail in card.details:
        cursor = _line(pdf, detail, text_x, cursor, text_w, DETAIL_PT)
    _line(pdf, card.code, text_x, max(cursor + 2, top + QR_SIZE - CODE_PT * PT_TO_MM * 1.35),
          text_w, CODE_PT)
    notes_y = top + QR_SIZE + 3
    note_w = CARD_W - 2 * PADDING
    for note in card.notes:
        notes_y = _multi(pdf, note, left, notes_y, note_w, NOTE_PT)


def _multi(pdf: FPDF, text: str, x: float, y: float, width: float, size: float) -> float:
    """A note wrapped to `width` (at most two lines, the rest cut with an ellipsis)."""
    pdf.set_font(FONT, size=size)
    height = size * PT_TO_MM * 1.3
    wrapped = pdf.multi_cell(width, height, text, dry_run=True, output="LINES")
    lines = [str(line) for line in wrapped] if isinstance(wrapped, list) else [text]
    if len(lines) > 2:
        second, _ = _fit(pdf, "".join(lines[1:]), width, size)
        lines = [lines[0], second]
        pdf.set_font(FONT, size=size)
    for line in lines:
        pdf.set_xy(x, y)
        pdf.cell(width, height, line)
        y += height
    return y
