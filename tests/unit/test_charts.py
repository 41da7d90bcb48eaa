"""Charts render Chinese names without a missing glyph (a CJK font installs with the project),
as PNGs of the size the chart module promises; with no CJK font they still render."""

from __future__ import annotations

import datetime as dt
import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from bot.core.i18n import t
from bot.credits import rules
from bot.credits import views as credit_views
from bot.documents import charts
from storage.models import Member

NAMES = ["罗宏伟", "黄志强", "邹立新", "陈静", "王芳", "瞿鑫喆", "龚晓燕", "阎涛", "欧阳翀"]
GLYPH_WARNING = ("missing from font", "Glyph")


def _member(pk: int, name: str, group: str = "第一组") -> Member:
    return Member(pk, f"M{pk:03d}", name, "trainee", 1, group, "", "", True, None, "zh", None,
                  None)


def _board(totals: list[float]) -> credit_views.Board:
    members = [_member(i + 1, NAMES[i % len(NAMES)]) for i in range(len(totals))]
    yearly = {m.pk: total for m, total in zip(members, totals, strict=True)}
    line, ordered = rules.standings(yearly, 5, 0.6)
    year = rules.credit_year(dt.date(2026, 3, 2), "01-01")
    return credit_views.Board(year, dt.date(2026, 3, 2), line, rules.average_top(totals, 5),
                              members, ordered, 5, 0.6)


def _render(fn: Callable[[], bytes]) -> bytes:
    """Runs a render and fails on any missing-glyph warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = fn()
    glyphs = [str(w.message) for w in caught
              if any(part in str(w.message) for part in GLYPH_WARNING)]
    assert glyphs == []
    return png


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as img:
        img.verify()
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        return img.size


def test_the_cjk_font_installs_with_the_project() -> None:
    path = charts.package_font()
    assert path is not None and path.suffix == ".otf"
    assert charts.setup() == "Noto Sans SC"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_progress_chart(lang: str) -> None:
    board = _board([30, 25, 20, 15, 10, 5, -3])
    dates = [dt.date(2026, 1, 1) + dt.timedelta(days=7 * i) for i in range(9)]
    progress = credit_views.Progress(board, board.members[6], board.ordered[-1], dates,
                                     [float(-i) for i in range(9)], [i * 1.5 for i in range(9)], 7)
    chart = credit_views.progress_chart(lang, progress)
    assert NAMES[6] in chart.title
    png = _render(lambda: charts.render_progress(chart))
    assert _size(png) == charts.progress_size() == (960, 540)


@pytest.mark.parametrize("count", [1, 7, 9, 80])
def test_ranking_chart(count: int) -> None:
    board = _board([float((i * 37) % 41 - 8) for i in range(count)])
    title = t("zh", "credits.ranking_title", scope="第一组", year=2026)
    chart = credit_views.ranking_chart("zh", board, board.ordered, title, viewer_pk=1)
    rows = len(chart.bars) + (1 if chart.gap_after is not None else 0)
    assert len(chart.bars) == min(count, charts.MAX_BARS)
    assert any(b.below for b in chart.bars) or count == 1
    png = _render(lambda: charts.render_ranking(chart))
    assert _size(png) == charts.ranking_size(rows)


def test_heatmap_chart() -> None:
    statuses = ["present", "late", "early_leave", "absent", "excused", None]
    chart = charts.HeatmapChart(
        title=t("zh", "credits.chart.heatmap_title", scope="第一组", year=2026),
        members=NAMES,
        activities=[f"03-{d:02d} 读书交流会" for d in range(1, 13)],
        statuses=[[statuses[(r + c) % 6] for c in range(12)] for r in range(len(NAMES))],
        legend={k: t("zh", f"credits.status.{k}") for k in credit_views.STATUS_KEYS},
    )
    png = _render(lambda: charts.render_heatmap(chart))
    assert _size(png) == charts.heatmap_size(len(NAMES), 12)


def test_the_glyph_check_can_fail() -> None:
    """Without the CJK font, matplotlib warns about each Chinese glyph: the check sees it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def plain() -> bytes:
        fig = Figure(figsize=(2, 1))
        fig.text(0.1, 0.5, "黄志强", family="DejaVu Sans")
        buf = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buf)
        return buf.getvalue()

    with pytest.raises(AssertionError):
        _render(plain)


def test_no_cjk_font_still_renders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The default font is settled first, so nothing (a warm-up thread) caches it while patched.
    assert charts.setup() == "Noto Sans SC"
    monkeypatch.setattr(charts, "package_font", lambda: None)
    monkeypatch.setattr(charts, "SYSTEM_CJK_FAMILIES", ())
    missing = str(tmp_path / "no-such-font.otf")
    assert charts.setup(missing) is None
    board = _board([3, 1])
    chart = credit_views.ranking_chart("zh", board, board.ordered, "第一组", None)
    png = charts.render_ranking(chart, missing)  # no exception, warnings filtered
    assert _size(png) == charts.ranking_size(2)


def test_a_configured_font_is_used(tmp_path: Path) -> None:
    bundled = charts.package_font()
    assert bundled is not None
    copy = tmp_path / "mine.otf"
    copy.write_bytes(bundled.read_bytes())
    assert charts.setup(str(copy)) == "Noto Sans SC"


# -- legible labels, the axis up to today, the group beside each name ------------------------


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("03-02 读书交流会", 28, "03-02 读书交流会"),  # fits: unchanged
    ("03-02 读书交流：给教师的建议（第二部分）与本校实践", 28, "03-02 读书交流：给教师的建…"),
    ("欧阳翀", 6, "欧阳翀"),
    ("欧阳翀翀", 6, "欧阳…"),
    ("Reading circle: advice to teachers", 16, "Reading circle:…"),
])
def test_shorten_marks_what_it_leaves_out(text: str, width: int, expected: str) -> None:
    assert charts.shorten(text, width) == expected


def test_long_heatmap_labels_end_in_an_ellipsis() -> None:
    long_title = "03-02 读书交流：给教师的建议（第二部分）与本校实践"
    chart = charts.HeatmapChart(
        title="第一组", members=["欧阳翀", "司马相如诸葛孔明欧阳修"],
        activities=["03-01 读书交流会", long_title], statuses=[[None, None], [None, None]],
    )
    members, activities = charts.heatmap_labels(chart)
    assert activities[0] == "03-01 读书交流会"
    assert activities[1].endswith("…") and activities[1].startswith("03-02 读书交流")
    assert members == ["欧阳翀", "司马相如诸葛孔…"]
    png = _render(lambda: charts.render_heatmap(chart))
    assert _size(png) == charts.heatmap_size(2, 2)


def test_the_credit_curve_axis_ends_today() -> None:
    board = _board([30, 25, 20, 15, 10, 5, -3])  # today: 2026-03-02
    dates = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 2)]
    progress = credit_views.Progress(board, board.members[0], board.ordered[0], dates,
                                     [0.0, 5.0, 30.0], [0.0, 3.0, 12.0], 7)
    chart = credit_views.progress_chart("zh", progress)
    assert chart.until == dt.date(2026, 3, 2)
    assert charts.progress_span(chart) == (dt.date(2026, 1, 1), dt.date(2026, 3, 2))
    png = _render(lambda: charts.render_progress(chart))
    assert _size(png) == charts.progress_size()
    first_day = charts.ProgressChart("", [dt.date(2026, 1, 1)], [0.0], [0.0], 0.0, "", "", "",
                                     "", until=dt.date(2026, 1, 1))
    assert charts.progress_span(first_day) == (dt.date(2026, 1, 1), dt.date(2026, 1, 2))


def test_a_ranking_across_groups_shows_each_name_with_its_group() -> None:
    board = _board([9, 7, 5, 3])
    two_groups = credit_views.Board(
        board.year, board.today, board.line, board.average,
        [_member(m.pk, m.name, "第一组" if m.pk % 2 else "第二组") for m in board.members],
        board.ordered, board.top_n, board.ratio,
    )
    chart = credit_views.ranking_chart("zh", two_groups, two_groups.ordered, "全体", None)
    by_name = {m.pk: m for m in two_groups.members}
    assert [b.name for b in chart.bars] == [
        t("zh", "credits.chart.name_group", name=by_name[s.member_pk].name,
          group=by_name[s.member_pk].group_name)
        for s in two_groups.ordered
    ]
    assert "黄志强（第二组）" in [b.name for b in chart.bars]
    # One group (a leader's ranking): the group would say nothing.
    one_group = credit_views.ranking_chart("zh", board, board.ordered, "第一组", None)
    assert sorted(b.name for b in one_group.bars) == sorted(NAMES[:4])
