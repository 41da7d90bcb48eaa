"""Credit and attendance charts as PNG bytes (matplotlib, Agg, object-oriented API only).

matplotlib is imported inside the functions here, never at module import, and only this module
imports it: handlers import this module cheaply and call the renderers through
`asyncio.to_thread`, so drawing never blocks the event loop. Renders are serialised by a lock
(matplotlib's font cache is not thread-safe) and use no pyplot state.

Chinese names need a CJK font. `setup()` registers, in this order: `[credits] chart_font` when
set; Noto Sans SC from the `pylopdf-fonts-zh-cn` package (a dependency: SIL Open Font License
1.1, the unmodified Simplified Chinese subset of notofonts/noto-cjk); a CJK font the system has.
Text falls back glyph by glyph to DejaVu Sans (matplotlib's own), so Latin text and signs the CJK
font lacks still render. With no CJK font at all the charts still render (names show as boxes)
and one warning is logged.

Sizes are exact: figure sizes are whole multiples of a quarter inch at 96 dpi, and no tight
bounding box is used, so a chart's pixel size is what `*_size()` says. Labels longer than their
room are shortened here, visibly (`shorten`: a trailing "…"), never cut silently.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import logging
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DPI = 96
WIDTH_IN = 10.0  # 960 px
MAX_BARS = 60
MAX_HEATMAP_ROWS = 60
MAX_HEATMAP_COLUMNS = 40
# Label room in display columns (a Chinese character takes two): the heatmap's activity labels
# run vertically under the grid, the member names beside it.
HEATMAP_ACTIVITY_LABEL = 28
HEATMAP_MEMBER_LABEL = 16
ELLIPSIS = "…"
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
# Families tried when neither a configured font nor the package is there.
SYSTEM_CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
)
FALLBACK_FAMILY = "DejaVu Sans"

BLUE = "#3b73c4"
RED = "#d64541"
GREY = "#8a8a8a"
LINE_COLOUR = "#c0392b"
STATUS_COLOURS: dict[str, str] = {
    "present": "#4caf50",
    "late": "#f4c542",
    "early_leave": "#f39c12",
    "absent": "#d64541",
    "excused": "#5dade2",
}
NO_RECORD_COLOUR = "#e6e6e6"

_lock = threading.RLock()
_families: dict[str, str | None] = {}


def package_font() -> Path | None:
    """Noto Sans SC from the font package, when installed."""
    try:
        module: Any = importlib.import_module(FONT_PACKAGE)
    except ImportError:
        return None
    path = Path(module.sans_path())
    return path if path.is_file() else None


def setup(font_file: str = "") -> str | None:
    """Registers the CJK font with matplotlib (once per font) and returns its family name;
    None when no CJK font could be found (charts then render with DejaVu Sans only)."""
    with _lock:
        if font_file in _families:
            return _families[font_file]
        from matplotlib import font_manager

        family: str | None = None
        candidates: list[Path] = []
        if font_file:
            if Path(font_file).is_file():
                candidates.append(Path(font_file))
            else:
                log.warning("[credits] chart_font %s is not a file; using the default", font_file)
        bundled = package_font()
        if bundled is not None:
            candidates.append(bundled)
        for path in candidates:
            try:
                font_manager.fontManager.addfont(str(path))
                family = font_manager.FontProperties(fname=str(path)).get_name()
                break
            except (OSError, RuntimeError, ValueError) as exc:
                log.warning("cannot use chart font %s: %s", path, exc)
        if family is None:
            for name in SYSTEM_CJK_FAMILIES:
                try:
                    font_manager.findfont(
                        font_manager.FontProperties(family=name), fallback_to_default=False
                    )
                except ValueError:
                    continue
                family = name
                break
        if family is None:
            log.warning("no CJK font found: Chinese names in charts will show as boxes"
                        " (install pylopdf-fonts-zh-cn or set [credits] chart_font)")
        _families[font_file] = family
        return family


def _rc(family: str | None) -> Any:
    families = [family, FALLBACK_FAMILY] if family else [FALLBACK_FAMILY]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "font.size": 10,
        "axes.titlesize": 13,
        "axes.unicode_minus": True,
        "svg.fonttype": "none",
    }


def render_figure(draw: Any, width_in: float, height_in: float, font_file: str = "") -> bytes:
    """Creates a figure of the given size (inches at DPI), lets `draw(fig)` fill it with the
    object-oriented API, and returns the PNG — with the CJK font set up, under the render lock.
    Other features draw their own charts through this (e.g. the digest's attendance bars)."""
    family = setup(font_file)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _lock, matplotlib.rc_context(_rc(family)), warnings.catch_warnings():
        if family is None:
            # Already said once in the log; one warning per missing glyph would flood it.
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
        canvas = FigureCanvasAgg(fig)
        draw(fig)
        buf = io.BytesIO()
        canvas.print_png(buf)
        return buf.getvalue()


_warm = threading.Event()


def warm_up_in_background(font_file: str = "") -> None:
    """Imports matplotlib and loads the font in a daemon thread, once per process, so the
    first chart a user asks for is as quick as the others."""
    if _warm.is_set():
        return
    _warm.set()

    def run() -> None:
        try:
            setup(font_file)
            from matplotlib.backends import backend_agg  # noqa: F401
        except Exception:  # a failed warm-up only costs the first chart some time
            log.exception("chart warm-up failed")

    threading.Thread(target=run, name="chart-warm-up", daemon=True).start()


def _px(inches: float) -> int:
    return round(inches * DPI)


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shorten(text: str, width: int) -> str:
    """`text` if it fits in `width` display columns (a Chinese character takes two), else cut
    to fit with a trailing "…" so the reader sees that something was left out."""
    if sum(_columns(c) for c in text) <= width:
        return text
    room = width - _columns(ELLIPSIS)
    out: list[str] = []
    for char in text:
        room -= _columns(char)
        if room < 0:
            break
        out.append(char)
    return "".join(out).rstrip() + ELLIPSIS


# -- the trainee's year ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressChart:
    """Cumulative credits through the year against the line and the group median; the time
    axis runs from the first date to `until` (today), not to the end of the year, so early in
    the year the curve is not squeezed into the first weeks of an empty axis."""

    title: str
    dates: Sequence[dt.date]
    mine: Sequence[float]
    median: Sequence[float]
    line: float
    mine_label: str
    median_label: str
    line_label: str
    y_label: str
    until: dt.date | None = None


PROGRESS_SIZE_IN = (WIDTH_IN, 5.625)


def progress_size() -> tuple[int, int]:
    return _px(PROGRESS_SIZE_IN[0]), _px(PROGRESS_SIZE_IN[1])


def progress_span(chart: ProgressChart) -> tuple[dt.date, dt.date] | None:
    """The time axis: from the first date to `until` (or the last date); None with no data."""
    if not chart.dates:
        return None
    first, last = chart.dates[0], chart.dates[-1]
    end = max(last, chart.until or last)
    # A single day (the year's first) still needs a span to draw on.
    return first, max(end, first + dt.timedelta(days=1))


def render_progress(chart: ProgressChart, font_file: str = "") -> bytes:
    def draw(fig: Any) -> None:
        import matplotlib.dates as mdates

        ax = fig.add_subplot()
        xs = list(chart.dates)
        ax.step(xs, list(chart.median), where="post", color=GREY, linestyle="--",
                linewidth=1.5, label=chart.median_label)
        ax.step(xs, list(chart.mine), where="post", color=BLUE, linewidth=2.4,
                label=chart.mine_label)
        if xs:
            # The last point sits on the axis' right edge (today): the marker is not clipped
            # and the figure goes to its left.
            ax.plot([xs[-1]], [chart.mine[-1]], "o", color=BLUE, clip_on=False)
            ax.annotate(f"{chart.mine[-1]:g}", (xs[-1], chart.mine[-1]),
                        textcoords="offset points", xytext=(-6, 6), ha="right", color=BLUE)
        ax.axhline(chart.line, color=LINE_COLOUR, linestyle=":", linewidth=1.8,
                   label=chart.line_label)
        ax.set_title(chart.title)
        ax.set_ylabel(chart.y_label)
        span = progress_span(chart)
        if span is not None:
            ax.set_xlim(*span)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", frameon=False)

    return render_figure(draw, *PROGRESS_SIZE_IN, font_file)


# -- the ranking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    name: str
    total: float
    below: bool
    highlight: bool = False


@dataclass(frozen=True)
class RankingChart:
    """Horizontal bars, best at the top; those below the line in red."""

    title: str
    bars: Sequence[Bar]
    line: float
    line_label: str
    x_label: str
    # Shown between the top and the bottom when the middle is left out ("… 4,940 …").
    gap_after: int | None = None
    gap_label: str = ""


def ranking_height_in(rows: int) -> float:
    return 1.5 + 0.25 * max(rows, 4)


def ranking_size(rows: int) -> tuple[int, int]:
    """Pixel size of a ranking with `rows` bars (a gap row counts as one)."""
    return _px(WIDTH_IN), _px(ranking_height_in(rows))


def render_ranking(chart: RankingChart, font_file: str = "") -> bytes:
    bars = list(chart.bars)
    rows = len(bars) + (1 if chart.gap_after is not None else 0)

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        ys: list[int] = []
        labels: list[str] = []
        y = 0
        for i, bar in enumerate(bars):
            ys.append(y)
            labels.append(f"▶ {bar.name}" if bar.highlight else bar.name)
            y += 1
            if chart.gap_after is not None and i + 1 == chart.gap_after:
                ax.text(0.5, y, chart.gap_label, transform=ax.get_yaxis_transform(),
                        ha="center", va="center", color=GREY)
                y += 1
        colours = [RED if b.below else BLUE for b in bars]
        values = [b.total for b in bars]
        ax.barh(ys, values, color=colours, height=0.7)
        ax.set_yticks(ys, labels)
        for tick, bar in zip(ax.get_yticklabels(), bars, strict=True):
            if bar.highlight:
                # The CJK font has one weight: the viewer's own name is marked by colour.
                tick.set_color(BLUE if not bar.below else RED)
        for yy, bar in zip(ys, bars, strict=True):
            ax.text(bar.total, yy, f" {bar.total:g} ", va="center",
                    ha="left" if bar.total >= 0 else "right", fontsize=8,
                    color=RED if bar.below else "#333333")
        ax.axvline(chart.line, color=LINE_COLOUR, linestyle="--", linewidth=1.8,
                   label=chart.line_label)
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_ylim(max(rows, 1) - 0.4, -0.6)
        low = min([0.0, chart.line, *values])
        high = max([0.0, chart.line, *values])
        pad = max((high - low) * 0.12, 1.0)
        ax.set_xlim(low - (pad if low < 0 else 0), high + pad)
        ax.set_title(chart.title)
        ax.set_xlabel(chart.x_label)
        ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
        ax.legend(loc="lower right", frameon=True)

    return render_figure(draw, WIDTH_IN, ranking_height_in(rows), font_file)


# -- HR's attendance heatmap ------------------------------------------------------------------


@dataclass(frozen=True)
class HeatmapChart:
    """Members (rows) × activities (columns), each cell coloured by the roll-call status."""

    title: str
    members: Sequence[str]
    activities: Sequence[str]
    statuses: Sequence[Sequence[str | None]]  # [member][activity]
    legend: dict[str, str] = field(default_factory=dict)  # status (or "none") -> label


def heatmap_size_in(rows: int, columns: int) -> tuple[float, float]:
    return max(WIDTH_IN, 3.0 + 0.25 * columns), 2.5 + 0.25 * max(rows, 4)


def heatmap_size(rows: int, columns: int) -> tuple[int, int]:
    w, h = heatmap_size_in(rows, columns)
    return _px(w), _px(h)


def heatmap_labels(chart: HeatmapChart) -> tuple[list[str], list[str]]:
    """The row (member) and column (activity) labels as drawn: shortened to their room."""
    return (
        [shorten(m, HEATMAP_MEMBER_LABEL) for m in chart.members],
        [shorten(a, HEATMAP_ACTIVITY_LABEL) for a in chart.activities],
    )


def render_heatmap(chart: HeatmapChart, font_file: str = "") -> bytes:
    order = [*STATUS_COLOURS, None]
    code = {s: i for i, s in enumerate(order)}

    def draw(fig: Any) -> None:
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        ax = fig.add_subplot()
        matrix = [[code.get(s, code[None]) for s in row] for row in chart.statuses]
        cmap = ListedColormap([*STATUS_COLOURS.values(), NO_RECORD_COLOUR])
        if matrix and matrix[0]:
            ax.imshow(matrix, cmap=cmap, vmin=0, vmax=len(order) - 1, aspect="auto",
                      interpolation="nearest")
        members, activities = heatmap_labels(chart)
        ax.set_yticks(range(len(members)), members)
        ax.set_xticks(range(len(activities)), activities, rotation=90, fontsize=8)
        ax.set_xticks([x - 0.5 for x in range(1, len(chart.activities))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(chart.members))], minor=True)
        ax.grid(which="minor", color="white", linewidth=1.2)
        ax.tick_params(which="minor", length=0)
        ax.set_title(chart.title)
        handles = [
            Patch(color=STATUS_COLOURS[s] if s else NO_RECORD_COLOUR,
                  label=chart.legend.get(s or "none", s or "—"))
            for s in order
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                   frameon=False)

    return render_figure(draw, *heatmap_size_in(len(chart.members), len(chart.activities)),
                   font_file)
