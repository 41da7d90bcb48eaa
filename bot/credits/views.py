"""What /credits, /ranking and /heatmap show: the standings, a member's year, the attendance
grid — read from the database (after a ledger sync) and shaped into chart inputs and captions;
and the one call each of HR's /adjust and /exits decisions makes.

No Telegram here: handlers send what this builds; the demo and benchmarks call it too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot.core.config import Config, parse_year_starts
from bot.core.i18n import t
from bot.credits import rules
from bot.credits.sync import sync
from bot.delivery import notify
from bot.documents import charts
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import audit as audit_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage.db import Database, parse_ts, ts
from storage.exits import Proposal
from storage.models import Member

if TYPE_CHECKING:
    from bot.credits.exit_review import Decided

TOP_SHOWN = 10  # bars kept at the top when a ranking is too long for one chart
AT_RISK_LISTED = 200


def num(value: float) -> str:
    """Points as people write them: 12, 12.5, -3 (at most two decimals)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Board:
    """Everyone's standing this programme year against the current line."""

    year: rules.ProgrammeYear
    today: dt.date
    line: float
    average: float
    members: list[Member]
    ordered: list[rules.Standing]
    top_n: int
    ratio: float
    # Members who joined in this year's last quarter (not judged by rule 1 this year), with
    # the day they joined; and those who never registered. Neither is shown as at risk.
    joined_late: dict[int, dt.date] = field(default_factory=dict)
    unregistered: frozenset[int] = frozenset()

    @property
    def averaged_over(self) -> int:
        """How many totals the average was taken of (all of them when fewer than top_n)."""
        return min(self.top_n, len(self.ordered))

    @property
    def by_pk(self) -> dict[int, rules.Standing]:
        return {s.member_pk: s for s in self.ordered}

    def of_group(self, group_id: int | None) -> list[rules.Standing]:
        pks = {m.pk for m in self.members if m.group_id == group_id}
        return [s for s in self.ordered if s.member_pk in pks]


async def spared(
    conn: aiosqlite.Connection, cfg: Config, year: rules.ProgrammeYear, members: list[Member]
) -> tuple[dict[int, dt.date], frozenset[int]]:
    """Who is not marked at risk this year though below the line: those who joined in its last
    quarter (with the day they joined; not judged by rule 1 this year) and those who never
    registered. /ranking, /credits and HR's digest all ask here."""
    joined = await ledger.joined_on(conn, [m.pk for m in members])
    late: dict[int, dt.date] = {}
    for pk, stored in joined.items():
        day = parse_ts(stored).astimezone(cfg.tz).date()
        if year.contains(day) and not rules.judged_by_rule_one(day, year):
            late[pk] = day
    return late, frozenset(m.pk for m in members if m.telegram_id is None)


async def board(db: Database, cfg: Config, now: dt.datetime) -> Board:
    """The standings (the ledger is synced first)."""
    await sync(db, cfg, now)
    today = now.astimezone(cfg.tz).date()
    year = rules.credit_year(today, cfg.program.year_starts)
    async with db.read() as conn:
        members = await ledger.ranked_members(conn)
        totals = await ledger.totals(conn, year.label)
        late, unregistered = await spared(conn, cfg, year, members)
    yearly = {m.pk: totals.get(m.pk, 0.0) for m in members}
    line, ordered = rules.standings(yearly, cfg.exit.top_n, cfg.exit.ratio)
    average = rules.average_top(yearly.values(), cfg.exit.top_n)
    # Everyone counts in the line (group leaders and joiners too); only the "at risk" mark
    # is not theirs to carry.
    ordered = [dataclasses.replace(s, below=False, needed=0.0)
               if s.below and (s.member_pk in late or s.member_pk in unregistered) else s
               for s in ordered]
    return Board(year, today, line, average, members, ordered, cfg.exit.top_n, cfg.exit.ratio,
                 late, unregistered)


# -- a member's year --------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    board: Board
    member: Member
    standing: rules.Standing
    dates: list[dt.date]
    mine: list[float]
    median: list[float]
    group_size: int

    @property
    def group_median(self) -> float:
        return self.median[-1] if self.median else 0.0


def _cumulative(daily: list[tuple[str, float]], xs: list[dt.date]) -> list[float]:
    out: list[float] = []
    total = 0.0
    i = 0
    for x in xs:
        while i < len(daily) and dt.date.fromisoformat(daily[i][0]) <= x:
            total += daily[i][1]
            i += 1
        out.append(total)
    return out


async def progress(db: Database, cfg: Config, now: dt.datetime, member: Member) -> Progress | None:
    """The member's cumulative credits and the group median through the year; None for someone
    who earns no credits (HR)."""
    b = await board(db, cfg, now)
    standing = b.by_pk.get(member.pk)
    if standing is None:
        return None
    group = [m.pk for m in b.members if m.group_id == member.group_id] if member.group_id \
        else [member.pk]
    async with db.read() as conn:
        daily = await ledger.daily_sums(conn, group, b.year.label)
    end = min(b.today, b.year.last_day)
    days = {dt.date.fromisoformat(d) for rows in daily.values() for d, _ in rows}
    xs = sorted({b.year.start, end, *(d for d in days if d <= end)})
    columns = {pk: _cumulative(rows, xs) for pk, rows in daily.items()}
    mine = columns.get(member.pk, [0.0] * len(xs))
    median = [rules.median([col[i] for col in columns.values()]) for i in range(len(xs))]
    return Progress(b, member, standing, xs, mine, median, len(group))


def progress_chart(lang: str, p: Progress) -> charts.ProgressChart:
    return charts.ProgressChart(
        title=t(lang, "credits.chart.progress_title", name=p.member.name, year=p.board.year.label),
        dates=p.dates, mine=p.mine, median=p.median, line=p.board.line,
        mine_label=t(lang, "credits.chart.mine"),
        median_label=t(lang, "credits.chart.median", group=p.member.group_name or ""),
        line_label=t(lang, "credits.chart.line", line=num(p.board.line)),
        y_label=t(lang, "credits.chart.points"),
        until=min(p.board.today, p.board.year.last_day),
    )


def progress_caption(lang: str, p: Progress) -> str:
    """One line: total, rank, the line, the group median, and what is needed if below."""
    s = p.standing
    text = t(lang, "credits.summary", year=p.board.year.label, total=num(s.total), rank=s.rank,
             count=len(p.board.ordered), line=num(p.board.line),
             median=num(p.group_median))
    if s.below:
        text += t(lang, "credits.summary_below", need=num(s.needed))
    return text


# -- the ranking ------------------------------------------------------------------------------


def ranking_chart(
    lang: str, b: Board, standings: list[rules.Standing], title: str, viewer_pk: int | None,
) -> charts.RankingChart:
    """Bars best first; a list longer than charts.MAX_BARS keeps the top and the bottom. When
    the standings span several groups (HR's all-programme ranking) each name shows its group."""
    by_pk = {m.pk: m for m in b.members}
    groups = {by_pk[s.member_pk].group_name for s in standings if s.member_pk in by_pk}
    names = {
        m.pk: t(lang, "credits.chart.name_group", name=m.name, group=m.group_name)
        if len(groups) > 1 and m.group_name else m.name
        for m in b.members
    }
    shown = standings
    gap_after: int | None = None
    gap_label = ""
    if len(standings) > charts.MAX_BARS:
        bottom = charts.MAX_BARS - TOP_SHOWN
        shown = standings[:TOP_SHOWN] + standings[-bottom:]
        gap_after = TOP_SHOWN
        gap_label = t(lang, "credits.chart.gap", count=len(standings) - len(shown))
    bars = [charts.Bar(names.get(s.member_pk, "?"), round(s.total, 2), s.below,
                       s.member_pk == viewer_pk) for s in shown]
    return charts.RankingChart(
        title=title, bars=bars, line=b.line,
        line_label=t(lang, "credits.chart.line_of", line=num(b.line), top_n=b.averaged_over,
                     ratio=num(b.ratio * 100)),
        x_label=t(lang, "credits.chart.points"), gap_after=gap_after, gap_label=gap_label,
    )


def at_risk_lines(lang: str, b: Board, standings: list[rules.Standing]) -> list[str]:
    """'name: 12 (needs 6 more)' for everyone below the line, lowest first."""
    names = {m.pk: (m.name, m.group_name or "") for m in b.members}
    below = sorted((s for s in standings if s.below), key=lambda s: (s.total, s.member_pk))
    lines = [
        t(lang, "credits.at_risk_line", name=names[s.member_pk][0], group=names[s.member_pk][1],
          total=num(s.total), need=num(s.needed))
        for s in below[:AT_RISK_LISTED]
    ]
    if len(below) > AT_RISK_LISTED:
        lines.append(t(lang, "credits.at_risk_more", count=len(below) - AT_RISK_LISTED))
    return lines


def member_notes(lang: str, b: Board, standings: list[rules.Standing]) -> list[str]:
    """Next to the members of `standings` who are not judged as the others: who joined in the
    year's last quarter (not judged by rule 1 this year) and who never registered."""
    names = {m.pk: (m.name, m.group_name or "") for m in b.members}
    shown = [s.member_pk for s in standings]
    lines = [
        t(lang, "credits.joined_late_line", name=names[pk][0], group=names[pk][1],
          date=b.joined_late[pk].strftime("%m-%d"))
        for pk in shown if pk in b.joined_late
    ]
    lines += [
        t(lang, "credits.not_registered_line", name=names[pk][0], group=names[pk][1])
        for pk in shown if pk in b.unregistered
    ]
    return lines[:AT_RISK_LISTED]


# -- the attendance heatmap -------------------------------------------------------------------


STATUS_KEYS: tuple[str, ...] = (*rules.ATTENDANCE_STATUSES, "none")


async def heatmap(
    db: Database, cfg: Config, now: dt.datetime, viewer: Member, group_id: int | None, lang: str,
) -> charts.HeatmapChart | None:
    """Members × this year's past activities (the latest charts.MAX_HEATMAP_COLUMNS); None when
    there are more members than fit (HR then picks a group)."""
    today = now.astimezone(cfg.tz).date()
    year = rules.credit_year(today, cfg.program.year_starts)
    start = dt.datetime.combine(year.start, dt.time(), cfg.tz)
    async with db.read() as conn:
        people = await ledger.ranked_members(conn, group_id)
        if len(people) > charts.MAX_HEATMAP_ROWS:
            return None
        groups = dict(await members_repo.groups(conn))
        # Whose activities: a group's (its own and the common ones), or all (HR's view).
        lens = people[0] if group_id is not None and people else viewer
        acts = await activities_repo.for_member(
            conn, lens, start_from=ts(start), start_to=ts(now),
            limit=charts.MAX_HEATMAP_COLUMNS, newest_first=True,
        )
        acts.reverse()
        rolls = {a.pk: await attendance_repo.roll(conn, a.pk) for a in acts}
    title_scope = groups.get(group_id, "") if group_id is not None else t(lang, "credits.everyone")
    return charts.HeatmapChart(
        title=t(lang, "credits.chart.heatmap_title", scope=title_scope, year=year.label),
        members=[m.name for m in people],
        activities=[
            # The whole title: the chart shortens it, visibly, to the room it has.
            f"{_local_day(a.start_at, cfg)} {a.title}" for a in acts
        ],
        statuses=[[(rolls[a.pk][m.pk].status if m.pk in rolls[a.pk] else None) for a in acts]
                  for m in people],
        legend={k: t(lang, f"credits.status.{k}") for k in STATUS_KEYS},
    )


def _local_day(start_at: str, cfg: Config) -> str:
    when = dt.datetime.fromisoformat(start_at).replace(tzinfo=dt.UTC).astimezone(cfg.tz)
    return when.strftime("%m-%d")


# -- hand adjustments -------------------------------------------------------------------------

MAX_ADJUST = 100.0
REASON_MAX = 200


def parse_points(text: str) -> float | None:
    """'+3', '-2', '1.5' (also with a full-width sign); None unless 0 < |points| ≤ MAX_ADJUST."""
    cleaned = text.strip().replace("＋", "+").replace("－", "-").replace("−", "-")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if value != value or value == 0 or abs(value) > MAX_ADJUST:  # NaN, zero, too big
        return None
    return round(value, 2)


def signed(value: float) -> str:
    return f"+{num(value)}" if value > 0 else num(value)


@dataclass(frozen=True)
class Adjusted:
    year: int
    total: float
    source: str


YearRefusal = Literal["year_future", "year_decided"]


@dataclass(frozen=True)
class AdjustYear:
    """The programme year a hand adjustment goes into, or why it cannot (with the catalog
    parameters of the refusal)."""

    year: rules.ProgrammeYear
    on_date: dt.date
    refusal: YearRefusal | None = None
    decided_at: str | None = None


async def adjust_year(
    conn: aiosqlite.Connection, cfg: Config, now: dt.datetime, label: int | None
) -> AdjustYear:
    """This programme year (booked today), or a past one not decided yet (booked on its last
    day); a later year, or a decided one (its totals frozen), is refused."""
    today = now.astimezone(cfg.tz).date()
    current = rules.credit_year(today, cfg.program.year_starts)
    if label is None or label == current.label:
        return AdjustYear(current, today)
    year = rules.year_by_label(label, parse_year_starts(cfg.program.year_starts))
    if label > current.label:
        return AdjustYear(year, year.start, "year_future")
    decided = (await exits_repo.closed_years(conn)).get(label)
    if decided is not None:
        return AdjustYear(year, year.last_day, "year_decided", decided)
    return AdjustYear(year, year.last_day)


def year_refusal_params(cfg: Config, chosen: AdjustYear) -> dict[str, object]:
    """The catalog parameters of `credits.adjust.<refusal>`."""
    date = ""
    if chosen.decided_at:
        date = parse_ts(chosen.decided_at).astimezone(cfg.tz).date().isoformat()
    return {"year": chosen.year.label, "date": date}


async def adjust(
    conn: aiosqlite.Connection, cfg: Config, member: Member, points: float, reason: str,
    actor: Member | None, now: dt.datetime, year: AdjustYear | None = None,
) -> Adjusted:
    """Books a hand adjustment (source 'adjust:<n>') into `year` (default: this programme
    year; see adjust_year), audits it and tells the member; call inside the transaction."""
    at = ts(now)
    chosen = year or await adjust_year(conn, cfg, now, None)
    assert chosen.refusal is None, chosen.refusal
    label = chosen.year.label
    n = await ledger.next_adjust_no(conn)
    source = f"adjust:{n}"
    await ledger.append(conn, [ledger.NewEntry(
        member.pk, chosen.on_date.isoformat(), points, "adjust", source, reason, label,
        actor.pk if actor else None,
    )], at)
    await audit_repo.record(
        conn, at=at, actor_pk=actor.pk if actor else None, action="credits.adjust",
        subject=f"member:{member.member_id}", before=None,
        after={"points": points, "source": source, "year": label}, reason=reason,
    )
    total = await ledger.totals_of(conn, member.pk, label)
    await notify.to_member(conn, cfg, member, "credits.adjust.told", now=at,
                           kind="credits.adjust.told", points=signed(points), reason=reason,
                           year=label, total=num(total))
    return Adjusted(label, total, source)


AdjustOutcome = Literal["ok", "forbidden", "unknown_member", "not_ranked", "year_future",
                        "year_decided"]


@dataclass(frozen=True)
class AdjustResult:
    """What /adjust did: the outcome, the member it was for (when found), the booking (or the
    year refused, with its catalog parameters)."""

    outcome: AdjustOutcome
    target: Member | None = None
    adjusted: Adjusted | None = None
    params: dict[str, object] | None = None


async def adjust_member(
    db: Database, cfg: Config, actor_pk: int, member_id: str, points: float, reason: str,
    now: dt.datetime, year: int | None = None,
) -> AdjustResult:
    """/adjust: a hand entry for the member with `member_id` (as typed, or upper-cased), in one
    transaction, into programme year `year` (default: this one; a past year only while it is
    not decided); only an active HR member (checked here, from the database) may book one."""
    async with db.tx() as conn:
        actor = await members_repo.by_pk(conn, actor_pk)
        if actor is None or not actor.is_hr or not actor.active:
            return AdjustResult("forbidden")
        target = await members_repo.by_member_id(conn, member_id) \
            or await members_repo.by_member_id(conn, member_id.upper())
        if target is None:
            return AdjustResult("unknown_member")
        if target.is_hr:
            return AdjustResult("not_ranked", target)
        chosen = await adjust_year(conn, cfg, now, year)
        if chosen.refusal is not None:
            return AdjustResult(chosen.refusal, target, params=year_refusal_params(cfg, chosen))
        done = await adjust(conn, cfg, target, points, reason, actor, now, chosen)
    return AdjustResult("ok", target, done)


# -- what /credits' details, /ranking and /heatmap pick from -----------------------------------


@dataclass(frozen=True)
class Ledger:
    """A member's ledger this programme year: sums by rule and every entry, oldest first."""

    year: int
    sums: list[tuple[str, float, int]]
    entries: list[ledger.Entry]


async def member_ledger(db: Database, cfg: Config, now: dt.datetime, member: Member) -> Ledger:
    today = now.astimezone(cfg.tz).date()
    year = rules.credit_year(today, cfg.program.year_starts).label
    async with db.read() as conn:
        sums = await ledger.rule_sums(conn, member.pk, year)
        entries = await ledger.member_entries(conn, member.pk, year)
    return Ledger(year, sums, entries)


def year_label(cfg: Config, now: dt.datetime) -> int:
    """The programme year `now` falls in."""
    return rules.credit_year(now.astimezone(cfg.tz).date(), cfg.program.year_starts).label


async def groups(db: Database) -> dict[int, str]:
    """Every group's name by id."""
    async with db.read() as conn:
        return dict(await members_repo.groups(conn))


# -- /exits --------------------------------------------------------------------------------------
# bot.credits.exit_review imports this module (for `num`), so it is imported where it is used.


@dataclass(frozen=True)
class OpenExits:
    """The open exit proposals (after a fresh evaluation) with the members they are about, and
    how many cards were queued to the viewer (the others' notices are on their way already)."""

    proposals: list[Proposal]
    people: dict[int, Member]
    queued: int = 0


async def open_exits(
    db: Database, cfg: Config, now: dt.datetime, viewer_pk: int | None = None,
    lang: str | None = None, limit: int = 10,
) -> OpenExits:
    """Evaluates the exit rules now (queuing HR's notices of new proposals), then lists the open
    proposals; for a viewer, queues them a card of each of the first `limit` that is not already
    on its way to them — each proposal is shown once, and every copy is edited when it is
    decided."""
    from bot.credits import exit_review

    await exit_review.evaluate(db, cfg, now)
    async with db.tx() as conn:
        open_ = await exits_repo.proposals(conn, ("open",))
        people = await ledger.members_by_pk(conn, [p.member_pk for p in open_])
        viewer = await members_repo.by_pk(conn, viewer_pk) if viewer_pk is not None else None
        queued = 0 if viewer is None else await exit_review.show_copies(
            conn, cfg, viewer, open_[:limit], lang or cfg.program.language, ts(now))
    return OpenExits(open_, people, queued)


async def exit_proposal(db: Database, proposal_id: int) -> tuple[Proposal, Member] | None:
    """A proposal and its member (None: no such proposal, or member)."""
    async with db.read() as conn:
        p = await exits_repo.proposal(conn, proposal_id)
        person = await members_repo.by_pk(conn, p.member_pk) if p else None
    return (p, person) if p is not None and person is not None else None


async def decide_exit(
    db: Database, cfg: Config, actor_pk: int, proposal_id: int, confirm: bool,
    now: dt.datetime, lang: str,
) -> Decided:
    """Confirms or dismisses an open proposal in one transaction, the presser re-read from the
    database (exit_review.decide refuses anyone but an active HR member); raises
    exit_review.ExitError with the catalog key of the reason when it cannot."""
    from bot.credits import exit_review

    async with db.tx() as conn:
        actor = await members_repo.by_pk(conn, actor_pk)
        if actor is None:
            raise exit_review.ExitError("error.forged")
        return await exit_review.decide(conn, cfg, actor, proposal_id, confirm, now, lang)
