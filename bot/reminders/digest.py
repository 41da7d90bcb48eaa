"""Digests: HR's daily digest, the leader's and the trainee's weekly ones, built from sections.

A digest is a list of *sections*, each an async function `(conn, scope) -> list[str]` that
returns its lines in the recipient's language (or [] to leave the section out). A feature lists
its sections in bot/features.py (name, function, order, who gets it, heading), and
`features.install` registers them here. A section that raises
is logged and noted in the digest, which still goes out. `scope.start`/`scope.end` are the covered
period (UTC, end excluded). Sections here:

- HR: attendance (10), waiting for HR (20: bot.core.pending, i.e. leave requests routed to HR and
  exit proposals), reports (30), reading (40), credits at risk (50), members the bot cannot
  reach (90), notifications Telegram refused for good in the period (95);
- leader: the group's attendance (10), reports (30), reading pace (40) — and the leave feature's
  own section (pending leave for the leader, bot.leave.flow);
- trainee: own attendance (10), reading pace (40), own credits and distance to the line (50).
HR and leader digests come with a small chart (attendance per activity held in the period).

A digest stays readable on a phone whatever the programme's size: every list (names of the
absent, submissions, reports, trainees below the line, unreachable members, reading pace, what
waits for HR) shows at most `[digest] max_names` entries; a longer one gets the counts per group
where that helps, "… and K more" and where the full list is (/export, /reports, /ranking,
/reading, /admin) — see `capped`. Within the cap the lists are shown whole, as before.

Scheduling (the due checks `digest.hr`, `digest.leader`, `digest.trainee`): each period has one
row in `digest_runs` (kind, scope, period) written in the transaction that queues its messages
(outbox dedupe keys `digest:<kind>[.<scope>]:<period>:<chat>[:p2|:chart]`), so a restart at any
moment repeats nothing; only the latest moment that fell due is sent, so after downtime a
missed digest goes out once on start. A digest covers everything since the previous one sent
(its `covered_to`, the previous scheduled moment): Monday's HR digest covers the weekend, the
day after a holiday covers the holiday. A digest that falls due in the quiet hours is queued
with `not_before` = their end. The first check after installation records a baseline and sends
nothing for periods before the bot existed.

A scheduled digest's chart is a file under files_dir/digests/ that the outbox's photo row
names; the due check `digest.charts` deletes it once its run is recorded and no pending row
names it (a 429 retry keeps it, across restarts too) — see `prune_charts`.

HR's /digest composes the same digest from the last scheduled one until now and answers the
asker directly; it records no run, so the next scheduled digest still covers the whole period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import aiosqlite

from bot.activities.rules import STATUSES
from bot.core import pending
from bot.core.config import Config
from bot.core.i18n import normalize, t
from bot.core.text import MAX_CAPTION, MAX_MESSAGE, clip, split_message, utf16_len
from bot.core.workdays import WorkCalendar, notice_from
from bot.credits import rules as credit_rules
from bot.credits.views import spared
from bot.delivery import notify
from bot.reading import rules as reading_rules
from bot.reminders import rules
from bot.reports import rules as report_rules
from storage import credits as ledger
from storage import members as members_repo
from storage import reading as reading_repo
from storage import reminders as repo
from storage.db import Database, parse_ts, ts
from storage.models import Member

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

DigestKind = Literal["hr", "leader", "trainee"]
KINDS: tuple[DigestKind, ...] = ("hr", "leader", "trainee")
NAMED_STATUSES: tuple[str, ...] = ("absent", "late", "early_leave")
CHART_COLOURS = {"present": "#4caf50", "late": "#ffb300", "early_leave": "#fb8c00",
                 "absent": "#e53935", "excused": "#90a4ae"}
MAX_CHART_BARS = 30
T = TypeVar("T")


# -- the scope a section sees ----------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one digest covers and for whom: sections read the database within it."""

    kind: DigestKind
    cfg: Config
    lang: str
    start: dt.datetime  # UTC, included
    end: dt.datetime  # UTC, excluded
    today: dt.date  # the local date the digest is for
    group_id: int | None = None
    group_name: str | None = None
    member: Member | None = None

    @property
    def start_ts(self) -> str:
        return ts(self.start)

    @property
    def end_ts(self) -> str:
        return ts(self.end)

    def t(self, key: str, /, **params: Any) -> str:
        return t(self.lang, key, **params)

    def local(self, text_ts: str) -> dt.datetime:
        return parse_ts(text_ts).astimezone(self.cfg.tz)


Section = Callable[[aiosqlite.Connection, Scope], Awaitable[list[str]]]


@dataclass(frozen=True)
class SectionSpec:
    name: str
    order: int
    kinds: frozenset[DigestKind]
    title_key: str
    fn: Section


_SECTIONS: dict[str, SectionSpec] = {}


def register(
    name: str, fn: Section, *, order: int, kinds: Iterable[str] = ("hr",),
    title_key: str | None = None,
) -> None:
    """Registers a section under a unique name (re-registering replaces it); called by
    bot.features.install for every section a feature lists. `title_key` is the catalog key of
    its heading (default `digest.section.<name>`)."""
    known = frozenset(k for k in KINDS if k in set(kinds))
    _SECTIONS[name] = SectionSpec(name, order, known, title_key or f"digest.section.{name}", fn)


def sections(kind: DigestKind) -> list[SectionSpec]:
    return sorted((s for s in _SECTIONS.values() if kind in s.kinds),
                  key=lambda s: (s.order, s.name))


# -- composing -------------------------------------------------------------------------------


@dataclass
class Composed:
    """A digest ready to send: its text blocks (title first) and the chart's data."""

    blocks: list[str]
    chart: list[tuple[str, Counter[str]]] = field(default_factory=list)
    title: str = ""
    chart_title: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(self.blocks)


def _fmt(when: dt.datetime) -> str:
    return when.strftime("%m-%d %H:%M")


def _weekday(lang: str, day: dt.date) -> str:
    return t(lang, f"attendance.weekday.{day.weekday()}")


def title_of(scope: Scope) -> str:
    day = scope.today
    params: dict[str, Any] = {"date": day.isoformat(), "weekday": _weekday(scope.lang, day)}
    if scope.kind == "leader":
        params["group"] = scope.group_name or ""
    if scope.kind == "trainee":
        params["name"] = scope.member.name if scope.member else ""
    return scope.t(f"digest.title.{scope.kind}", **params)


async def compose(conn: aiosqlite.Connection, scope: Scope, *, manual: bool = False) -> Composed:
    """Runs every section of the scope's kind; a failing section is logged and noted, never
    stops the digest."""
    tz = scope.cfg.tz
    head = [title_of(scope)]
    if manual:
        head.append(scope.t("digest.manual"))
    head.append(scope.t("digest.covered", start=_fmt(scope.start.astimezone(tz)),
                        end=_fmt(scope.end.astimezone(tz))))
    blocks = ["\n".join(head)]
    for spec in sections(scope.kind):
        try:
            lines = await spec.fn(conn, scope)
        except Exception:
            log.exception("digest section %s failed", spec.name)
            lines = [scope.t("digest.section_failed")]
        if lines:
            blocks.append("\n".join([scope.t("digest.heading", title=scope.t(spec.title_key)),
                                     *lines]))
    if len(blocks) == 1:
        blocks.append(scope.t("digest.nothing"))
    composed = Composed(blocks)
    if scope.kind in ("hr", "leader"):
        composed.chart = await chart_data(conn, scope)
        composed.title = title_of(scope)
        composed.chart_title = scope.t(
            "digest.chart_title", start=_fmt(scope.start.astimezone(tz)),
            end=_fmt(scope.end.astimezone(tz)),
        )
    return composed


def parts(composed: Composed, limit: int = MAX_MESSAGE) -> list[str]:
    """The digest as messages of at most `limit` UTF-16 units (as Telegram counts): whole
    sections packed together where they fit, a section longer than a message split at line
    breaks."""
    out: list[str] = []
    current = ""
    for block in composed.blocks:
        pieces = [block] if utf16_len(block) <= limit else split_message(block, limit)
        for piece in pieces:
            if current and utf16_len(current) + 2 + utf16_len(piece) <= limit:
                current += "\n\n" + piece
                continue
            if current:
                out.append(current)
            current = piece
    if current:
        out.append(current)
    return out


# -- the chart -------------------------------------------------------------------------------


async def chart_data(conn: aiosqlite.Connection, scope: Scope) -> list[tuple[str, Counter[str]]]:
    """Per activity held in the period (oldest first): its counts per status, labelled with its
    local start ("09-29 15:00")."""
    rows = await repo.attendance_between(conn, scope.start_ts, scope.end_ts,
                                         group_id=scope.group_id)
    by_activity: dict[int, tuple[str, Counter[str]]] = {}
    for r in rows:
        label = _fmt(scope.local(r["start_at"]))
        _, counts = by_activity.setdefault(r["activity_pk"], (label, Counter()))
        if r["status"] is not None:
            counts[r["status"]] += 1
    data = sorted(by_activity.values(), key=lambda x: x[0])
    return data[-MAX_CHART_BARS:]


@dataclass(frozen=True)
class ChartText:
    """The chart's words in the recipient's language."""

    title: str
    statuses: dict[str, str]
    y_label: str

    @classmethod
    def of(cls, lang: str, title: str) -> ChartText:
        return cls(title, {s: t(lang, f"attendance.status.{s}") for s in STATUSES},
                   t(lang, "digest.chart_people"))


def chart_size_in(bars: int) -> tuple[float, float]:
    """Whole quarter inches (bot.documents.charts draws at 96 dpi, so pixels are exact)."""
    width = min(10.0, max(5.0, math.ceil((0.45 * bars + 3.0) * 4) / 4))
    return width, 3.75


def render_chart(data: Sequence[tuple[str, Counter[str]]], text: ChartText,
                 font_file: str = "") -> bytes:
    """A small stacked bar chart (PNG) of attendance per activity. Blocking: call it through
    `render_chart_async`. Drawn by bot.documents.charts (CJK font, no pyplot state, one render
    at a time)."""
    width, height = chart_size_in(len(data))
    from bot.documents import charts

    return charts.render_figure(
        lambda fig: _draw_chart(fig, data, text), width, height, font_file
    )


def _draw_chart(fig: Any, data: Sequence[tuple[str, Counter[str]]], text: ChartText) -> None:
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    labels = [label for label, _ in data]
    bottoms = [0] * len(data)
    for status in STATUSES:
        values = [counts.get(status, 0) for _, counts in data]
        if not any(values):
            continue
        ax.bar(labels, values, bottom=bottoms, label=text.statuses[status],
               color=CHART_COLOURS[status])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_title(text.title, fontsize=11)
    ax.set_ylabel(text.y_label)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))


async def render_chart_async(data: Sequence[tuple[str, Counter[str]]], text: ChartText,
                             font_file: str = "") -> bytes:
    return await asyncio.to_thread(render_chart, data, text, font_file)


# -- recipients and delivery -----------------------------------------------------------------


def recipient_of(member: Member, cfg: Config) -> notify.Recipient | None:
    if member.telegram_id is None or not member.active:
        return None
    lang = normalize(member.language, cfg.program.language)
    return notify.Recipient(member.telegram_id, member.pk, lang)


def chart_path(cfg: Config, kind: str, scope_key: str, period: str, lang: str) -> Path:
    """Where a scheduled digest's chart is kept until the outbox has sent it (`prune_charts`)."""
    return cfg.files_dir / "digests" / f"{kind}-{scope_key or 'all'}-{period}-{lang}.png"


def chart_of(name: str) -> tuple[str, str, str] | None:
    """(kind, scope key, period) of a chart file name made by `chart_path`, or None."""
    if not name.endswith(".png"):
        return None
    kind, _, rest = name.removesuffix(".png").partition("-")
    scope_key, _, rest = rest.partition("-")
    period, _, lang = rest.rpartition("-")
    if kind not in KINDS or not scope_key or not period or not lang:
        return None
    return kind, "" if scope_key == "all" else scope_key, period


async def prune_charts(services: Services, now: dt.datetime) -> int:
    """Deletes the chart files of scheduled digests that no outbox row will send any more.

    A chart is written before the transaction that records its run and queues its photo rows,
    so a file is deleted only when (a) its run is recorded — the rows exist — and no photo row
    naming it is still pending (a 429 or 5xx retry keeps the row pending, and so the file,
    across restarts); or (b) it has no run but a later period of the same digest has one: the
    leftover of a run that never committed (a crash between writing and queueing) and that
    will never be retried, since only the latest period is sent. Returns the files deleted."""
    folder = services.config.files_dir / "digests"
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return 0
    if not names:
        return 0
    doomed: list[str] = []
    async with services.db.read() as conn:
        pending_files = await repo.pending_chart_files(conn)
        for name in names:
            parsed = chart_of(name)
            if parsed is None or name in pending_files:
                continue
            kind, scope_key, period = parsed
            if await repo.run_for(conn, kind, scope_key, period) is not None:
                doomed.append(name)
                continue
            latest = await repo.latest_period(conn, kind, scope_key)
            if latest is not None and latest > period:
                doomed.append(name)
    for name in doomed:
        (folder / name).unlink(missing_ok=True)
    if doomed:
        log.info("deleted %d digest chart file(s) already sent", len(doomed))
    return len(doomed)


@dataclass
class Prepared:
    """Per language: the message texts and the chart file (if any)."""

    texts: list[str]
    chart: Path | None
    caption: str


async def prepare(
    db: Database, cfg: Config, scope_of: Callable[[str], Scope], langs: Iterable[str],
    *, kind: str, scope_key: str, period: str,
) -> dict[str, Prepared]:
    """Composes the digest in each language (reads), then renders each chart off the loop."""
    composed: dict[str, Composed] = {}
    async with db.read() as conn:
        for lang in sorted(set(langs)):
            composed[lang] = await compose(conn, scope_of(lang))
    out: dict[str, Prepared] = {}
    for lang, c in composed.items():
        path: Path | None = None
        if c.chart:
            png = await render_chart_async(c.chart, ChartText.of(lang, c.chart_title),
                                           cfg.credits.chart_font)
            path = chart_path(cfg, kind, scope_key, period, lang)
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_bytes, png)
        caption = clip(t(lang, "digest.chart_caption", title=c.title), MAX_CAPTION)
        out[lang] = Prepared(parts(c), path, caption)
    return out


async def enqueue(
    conn: aiosqlite.Connection, recipient: notify.Recipient, prepared: Prepared, *, kind: str,
    subject: str, period: str, now: str, not_before: str,
) -> int:
    """Queues one recipient's messages in order (text parts, then the chart)."""
    queued = 0
    outbox_kind = f"digest.{kind}"
    for i, text in enumerate(prepared.texts, start=1):
        key = rules.dedupe_key("digest", subject, period, recipient.chat_id,
                               None if i == 1 else f"p{i}")
        row = await notify.enqueue(
            conn, chat_id=recipient.chat_id, member_pk=recipient.member_pk, kind=outbox_kind,
            payload={"text": text}, now=now, not_before=not_before, dedupe_key=key,
        )
        queued += row is not None
    if prepared.chart is not None:
        key = rules.dedupe_key("digest", subject, period, recipient.chat_id, "chart")
        row = await notify.enqueue(
            conn, chat_id=recipient.chat_id, member_pk=recipient.member_pk,
            kind=f"{outbox_kind}.chart",
            payload={"photo": str(prepared.chart), "text": prepared.caption}, now=now,
            not_before=not_before, dedupe_key=key,
        )
        queued += row is not None
    return queued


def calendar_of(cfg: Config) -> WorkCalendar:
    cal = _CALENDARS.get(cfg.calendar)
    if cal is None:
        c = cfg.calendar
        cal = _CALENDARS[c] = WorkCalendar(c.country, c.extra_holidays, c.extra_workdays)
    return cal


_CALENDARS: dict[Any, WorkCalendar] = {}


def reminder_rules(cfg: Config) -> rules.Rules:
    r = cfg.reminders
    return rules.Rules(r.day_before_at, r.minutes_before, r.quiet_start, r.quiet_end)


# -- the scheduled digests -------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One digest to send (or skip) for a slot: kind, scope key, recipients."""

    kind: DigestKind
    scope_key: str
    recipients: list[notify.Recipient]
    group_id: int | None = None
    group_name: str | None = None
    member: Member | None = None
    skip: bool = False


async def run_slot(services: Services, now: dt.datetime, slot: rules.Slot, job: Job,
                   previous: rules.Slot | None) -> int:
    """Sends (or skips, or baselines) one digest for `slot`; returns the messages queued."""
    cfg = services.config
    db = services.db
    now_s = ts(now)
    async with db.read() as conn:
        if await repo.run_for(conn, job.kind, job.scope_key, slot.period) is not None:
            return 0
        first = not await repo.has_runs(conn, job.kind, job.scope_key)
        last = await repo.latest_run(conn, job.kind, job.scope_key)
    end = slot.at.astimezone(dt.UTC)

    async def record(conn: aiosqlite.Connection, status: str, covered_from: dt.datetime) -> bool:
        """Claims the slot's run (False: another run has it), its messages still at 0."""
        return await repo.record_run(
            conn, kind=job.kind, scope=job.scope_key, period=slot.period,
            covered_from=ts(covered_from), covered_to=ts(end), status=status, messages=0,
            now=now_s,
        )

    if first:
        async with db.tx() as conn:
            await record(conn, "baseline", end)
        return 0
    if last is not None:
        start = parse_ts(last.covered_to)
    elif previous is not None:
        start = previous.at.astimezone(dt.UTC)
    else:
        start = end - dt.timedelta(days=7)
    if job.skip or not job.recipients:
        async with db.tx() as conn:
            await record(conn, "skipped", start)
        return 0

    def scope_of(lang: str) -> Scope:
        return Scope(job.kind, cfg, lang, start, end, slot.at.date(), job.group_id,
                     job.group_name, job.member)

    prepared = await prepare(
        db, cfg, scope_of, (r.lang for r in job.recipients), kind=job.kind,
        scope_key=job.scope_key, period=slot.period,
    )
    not_before = ts(rules.hold(now.astimezone(cfg.tz), reminder_rules(cfg)))
    subject = job.kind if not job.scope_key else f"{job.kind}.{job.scope_key}"
    queued = 0
    async with db.tx() as conn:
        if not await record(conn, "sent", start):
            return 0
        for recipient in job.recipients:
            queued += await enqueue(
                conn, recipient, prepared[recipient.lang], kind=job.kind, subject=subject,
                period=slot.period, now=now_s, not_before=not_before,
            )
        await repo.set_messages(conn, job.kind, job.scope_key, slot.period, queued)
    return queued


async def hr_due(services: Services, now: dt.datetime) -> int:
    """HR's daily digest on working days at `[digest] hr_time`."""
    cfg = services.config
    cal = calendar_of(cfg)
    local_now = now.astimezone(cfg.tz)
    slot = rules.latest_daily(local_now, cfg.digest.hr_time, cal.is_workday)
    if slot is None:
        return 0
    async with services.db.read() as conn:
        if await repo.run_for(conn, "hr", "", slot.period) is not None:
            return 0
        recipients = await notify.hr_recipients(conn, cfg)
    previous = rules.previous_daily(slot, cfg.digest.hr_time, cal.is_workday)
    return await run_slot(services, now, slot, Job("hr", "", recipients), previous)


WeeklyJobs = Callable[[aiosqlite.Connection, Config, rules.Slot, set[str]], Awaitable[list[Job]]]


async def run_weekly(
    services: Services, now: dt.datetime, kind: DigestKind, setting: str, jobs_of: WeeklyJobs
) -> int:
    """Runs the weekly digest `kind` for its latest slot of `setting` (its `[digest]` day and
    time), when one is due: a job for each scope `jobs_of` lists, given the scopes already
    done for the slot. A weekly digest has no previous slot to start from (see `run_slot`).
    Returns the messages queued."""
    cfg = services.config
    weekly = rules.parse_weekly(setting)
    if weekly is None:
        return 0
    slot = rules.latest_weekly(now.astimezone(cfg.tz), weekly, calendar_of(cfg).is_workday)
    if slot is None:
        return 0
    async with services.db.read() as conn:
        done = await repo.done_periods(conn, kind, slot.period)
        jobs = await jobs_of(conn, cfg, slot, done)
    queued = 0
    for job in jobs:
        queued += await run_slot(services, now, slot, job, None)
    return queued


async def _leader_jobs(
    conn: aiosqlite.Connection, cfg: Config, slot: rules.Slot, done: set[str]
) -> list[Job]:
    """A leader digest for each group not done yet (without recipients when the group's
    leader is missing or unreachable, so the run is still recorded)."""
    jobs: list[Job] = []
    for group_id, name in await members_repo.groups(conn):
        if str(group_id) in done:
            continue
        leader = await members_repo.group_leader(conn, group_id)
        recipient = recipient_of(leader, cfg) if leader else None
        jobs.append(Job("leader", str(group_id), [recipient] if recipient else [],
                        group_id=group_id, group_name=name, member=leader))
    return jobs


async def _trainee_jobs(
    conn: aiosqlite.Connection, cfg: Config, slot: rules.Slot, done: set[str]
) -> list[Job]:
    """A weekly summary for each trainee and leader not done yet, skipped for those who
    muted the slot's day."""
    people = [m for m in await members_repo.all_members(conn)
              if m.role in ("trainee", "leader") and str(m.pk) not in done]
    muted = await repo.muted_on(conn, slot.at.date(), (m.pk for m in people))
    jobs: list[Job] = []
    for m in people:
        recipient = recipient_of(m, cfg)
        jobs.append(Job("trainee", str(m.pk), [recipient] if recipient else [],
                        group_id=m.group_id, group_name=m.group_name, member=m,
                        skip=m.pk in muted))
    return jobs


async def leader_due(services: Services, now: dt.datetime) -> int:
    """Each group leader's weekly digest at `[digest] leader_weekly`."""
    setting = services.config.digest.leader_weekly
    return await run_weekly(services, now, "leader", setting, _leader_jobs)


async def trainee_due(services: Services, now: dt.datetime) -> int:
    """Each trainee's (and leader's) weekly summary at `[digest] trainee_weekly`, when set;
    none on a day the member muted."""
    setting = services.config.digest.trainee_weekly
    return await run_weekly(services, now, "trainee", setting, _trainee_jobs)


# -- on demand -------------------------------------------------------------------------------


@dataclass
class OnDemand:
    texts: list[str]
    chart: bytes | None
    caption: str


async def hr_now(services: Services, lang: str) -> OnDemand:
    """Today's HR digest from the last scheduled one until now, for HR's /digest. Records
    nothing: the next scheduled digest still covers the whole period."""
    cfg = services.config
    now = services.now()
    cal = calendar_of(cfg)
    async with services.db.read() as conn:
        last = await repo.latest_run(conn, "hr", "")
    if last is not None:
        start = parse_ts(last.covered_to)
    else:
        slot = rules.latest_daily(now.astimezone(cfg.tz), cfg.digest.hr_time, cal.is_workday)
        start = (slot.at if slot else now - dt.timedelta(days=1)).astimezone(dt.UTC)
    end = now.astimezone(dt.UTC)
    scope = Scope("hr", cfg, lang, start, end, now.astimezone(cfg.tz).date())
    async with services.db.read() as conn:
        composed = await compose(conn, scope, manual=True)
    png = await render_chart_async(
        composed.chart, ChartText.of(lang, composed.chart_title), cfg.credits.chart_font
    ) if composed.chart else None
    caption = clip(t(lang, "digest.chart_caption", title=composed.title), MAX_CAPTION)
    return OnDemand(parts(composed), png, caption)


# -- the sections of the features in the tree ------------------------------------------------


def _names(names: Iterable[str]) -> str:
    return "、".join(names)


def cut(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    shown = list(items[:max(limit, 0)])
    return shown, len(items) - len(shown)


def _natural(text: str) -> list[Any]:
    """A sort key that puts 第2组 before 第10组."""
    return [(0, int(p), "") if p.isdecimal() else (1, 0, p) for p in re.split(r"(\d+)", text)]


def group_counts(scope: Scope, groups: Iterable[str | None]) -> str:
    """"第1组 12，第3组 9 ……": how many items each group has, the most first, at most
    `[digest] max_names` groups."""
    counts = Counter(g or "" for g in groups)
    ordered = sorted(counts.items(), key=lambda x: (-x[1], not x[0], _natural(x[0])))
    shown, more = cut(ordered, scope.cfg.digest.max_names)
    text = scope.t("digest.list_sep").join(
        scope.t("digest.group_count", group=g or scope.t("attendance.none"), n=n)
        for g, n in shown)
    return text + (scope.t("digest.more_groups", count=more) if more else "")


def capped(scope: Scope, items: Sequence[str], where: str,
           groups: Sequence[str | None] | None = None) -> list[str]:
    """A list of item lines as a digest shows it: all of them up to `[digest] max_names`;
    beyond that the counts per group first (when `groups`, one per item, are given), the first
    items, and "… and K more" with where the full list is (`digest.where.<where>`)."""
    shown, more = cut(items, scope.cfg.digest.max_names)
    if not more:
        return shown
    head = ([scope.t("digest.by_group", count=len(items), groups=group_counts(scope, groups))]
            if groups is not None else [])
    return [*head, *shown, scope.t("digest.more_items", count=more,
                                   where=scope.t(f"digest.where.{where}"))]


def _count_text(scope: Scope, counts: Counter[str], statuses: Sequence[str] = STATUSES) -> str:
    return scope.t("digest.list_sep").join(
        scope.t("digest.attendance.count", status=scope.t(f"attendance.status.{s}"),
                n=counts.get(s, 0))
        for s in statuses
    )


async def attendance_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Activities that ended in the period: counts per status, names of the absent, late and
    early-leaving (a leader's digest: the group's activities and the group's members).

    Bounded by `[digest] max_names` (N): at most N activities (with the totals of all of them
    first when there are more), and at most N names per status in the whole section, in
    activity order — a list cut short ends with "… and K more", and one closing line counts the
    names left out and points to the full records."""
    rows = await repo.attendance_between(conn, scope.start_ts, scope.end_ts,
                                         group_id=scope.group_id)
    activities: dict[int, Any] = {}
    records: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        activities.setdefault(r["activity_pk"], r)
        if r["status"] is not None:
            records[r["activity_pk"]].append(r)
    limit = scope.cfg.digest.max_names
    listed, more_activities = cut(list(activities.items()), limit)
    lines: list[str] = []
    if more_activities:
        total = Counter(r["status"] for recs in records.values() for r in recs)
        lines.append(scope.t("digest.attendance.total", count=len(activities),
                             counts=_count_text(scope, total)))
    budget = dict.fromkeys(NAMED_STATUSES, limit)
    unlisted: Counter[str] = Counter()
    for pk, a in listed:
        recs = records[pk]
        group = a["group_name"] or scope.t("attendance.everyone")
        lines.append(scope.t("digest.attendance.line", title=a["title"], group=group,
                             when=_fmt(scope.local(a["start_at"])),
                             counts=_count_text(scope, Counter(r["status"] for r in recs))))
        for status in NAMED_STATUSES:
            names, left_out = cut([r["member_name"] for r in recs if r["status"] == status],
                                  budget[status])
            budget[status] -= len(names)
            unlisted[status] += left_out
            if names:
                more = scope.t("digest.more", count=left_out) if left_out else ""
                lines.append(scope.t("digest.attendance.names",
                                     status=scope.t(f"attendance.status.{status}"),
                                     names=_names(names) + more))
    for pk, _ in list(activities.items())[len(listed):]:
        unlisted.update(r["status"] for r in records[pk] if r["status"] in NAMED_STATUSES)
    if more_activities:
        lines.append(scope.t("digest.attendance.more_activities", count=more_activities))
    names_left_out = sum(unlisted.values())
    if names_left_out:
        lines.append(scope.t("digest.attendance.unlisted",
                             counts=_count_text(scope, unlisted, NAMED_STATUSES)))
    if more_activities or names_left_out:
        lines.append(scope.t("digest.full_list", where=scope.t("digest.where.attendance")))
    return lines


async def pending_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """What waits for HR's decision (leave requests, exit proposals...), from bot.core.pending;
    first, once, a year whose make-up working days are unknown (`calendar_notice`)."""
    items = [scope.t("digest.bullet", text=line) for line in await pending.gather(conn, scope.lang)]
    return await calendar_notice(conn, scope) + capped(scope, items, "pending")


async def calendar_notice(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """HR is told once that a year's make-up working days (调休) are not known (neither the
    holidays package nor `[calendar] extra_workdays` has them), and how to add them: in the
    first HR digest sent on or after `workdays.notice_from(year)` (1 December of the year
    before) — or the first after installation, when that is later."""
    years = calendar_of(scope.cfg).unscheduled(scope.today)
    if not years:
        return []
    last = await repo.latest_run(conn, "hr", "", statuses=("sent",))
    told_to = parse_ts(last.covered_to) if last is not None else None
    lines = []
    for year in years:
        since = dt.datetime.combine(notice_from(year), dt.time(), scope.cfg.tz)
        # A digest sent from that moment on already carried the notice.
        if told_to is not None and told_to >= since:
            continue
        lines.append(scope.t("digest.calendar.unscheduled", year=year))
    return lines


async def reading_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """New reading logs and study outputs submitted in the period; how many await review."""
    rows = await repo.submissions_between(conn, scope.start_ts, scope.end_ts)
    lines: list[str] = []
    if rows:
        lines.append(scope.t("digest.reading.new", count=len(rows)))
        items = [scope.t("digest.reading.item", name=r["member_name"],
                         kind=scope.t(f"reading.kind.{r['kind']}"), title=r["title"])
                 for r in rows]
        lines.extend(capped(scope, items, "reading", [r["group_name"] for r in rows]))
    if scope.cfg.reading.review == "required":
        waiting = await repo.submissions_awaiting_review(conn)
        if waiting:
            lines.append(scope.t("digest.reading.awaiting", count=waiting))
    return lines


async def pace_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Reading pace this programme year: the group's members (leader) or one's own."""
    starts = reading_rules.parse_year_starts(scope.cfg.program.year_starts)
    year = reading_rules.programme_year(scope.today, starts)
    if scope.kind == "trainee":
        if scope.member is None:
            return []
        people = [scope.member]
        subs = await reading_repo.for_member(conn, scope.member.pk, year.label)
    else:
        if scope.group_id is None:
            return []
        people = [m for m in await members_repo.group_members(conn, scope.group_id)
                  if reading_rules.logs_reading(m.role)]
        subs = await reading_repo.for_year(conn, year.label, group_id=scope.group_id)
    by_member: dict[int, list[Any]] = defaultdict(list)
    for s in subs:
        by_member[s.member_pk].append(s)
    paced = []
    for m in people:
        tally = reading_rules.tally(by_member.get(m.pk, []), scope.cfg.reading.review)
        # Pace counts from the day the member registered, if later than the year's start (one
        # who never registered is counted from the start: the roster has them since then).
        registered = parse_ts(m.registered_at) if m.registered_at else None
        joined = reading_rules.joined_on(registered, scope.cfg.tz)
        paced.append((m, tally, reading_rules.pace(tally, scope.today, year, joined)))
    head: list[str] = []
    if len(paced) > scope.cfg.digest.max_names:
        # A big group: how many are on pace, then only those behind, furthest behind first.
        paced = sorted((x for x in paced if not x[2].on_track), key=lambda x: -x[2].behind)
        head.append(scope.t("digest.pace.summary", on_track=len(people) - len(paced),
                            behind=len(paced)))
        if paced:
            head.append(scope.t("digest.pace.behind_first"))
    items = []
    for m, tally, p in paced:
        state = (scope.t("digest.pace.on_track") if p.on_track
                 else scope.t("digest.pace.behind", n=p.behind))
        if p.joined is not None:
            state += scope.t("digest.pace.since", date=p.joined.isoformat())
        items.append(scope.t(
            "digest.pace.line", name=m.name, books=tally.books,
            target=reading_rules.TARGET_BOOKS, monographs=tally.monographs,
            target_monographs=reading_rules.TARGET_MONOGRAPHS, state=state,
        ))
    return head + capped(scope, items, "pace")


async def my_attendance_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """The trainee's own records of the activities that ended in the period."""
    if scope.member is None:
        return []
    rows = await repo.member_attendance_between(conn, scope.member.pk, scope.start_ts,
                                                scope.end_ts)
    return [
        scope.t("digest.my.line", title=r["title"], when=_fmt(scope.local(r["start_at"])),
                status=scope.t(f"attendance.status.{r['status'] or 'unrecorded'}"))
        for r in rows
    ]


async def unreachable_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Active members the bot cannot reach: blocked it, or never registered."""
    people = await members_repo.unreachable(conn)
    items = []
    for m in people:
        key = "digest.unreachable.not_started" if m.telegram_id is None else (
            "digest.unreachable.blocked")
        items.append(scope.t(key, name=m.name, member_id=m.member_id,
                             group=m.group_name or scope.t("attendance.none")))
    return capped(scope, items, "unreachable", [m.group_name for m in people])


async def undelivered_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Notifications Telegram refused for good in the period (not a blocked bot: those members
    are in "unreachable"), so HR can tell the person another way."""
    rows = await repo.failed_between(conn, scope.start_ts, scope.end_ts)
    items = []
    for r in rows:
        try:
            text = str(json.loads(r["payload"]).get("text") or "")
        except (ValueError, AttributeError):
            text = ""
        who = (scope.t("digest.undelivered.member", name=r["member_name"],
                       member_id=r["member_id"])
               if r["member_id"] else scope.t("digest.undelivered.chat", chat_id=r["chat_id"]))
        items.append(scope.t("digest.undelivered.item", who=who,
                             text=clip(" ".join(text.split()), UNDELIVERED_EXCERPT),
                             error=clip(r["last_error"] or "", UNDELIVERED_EXCERPT)))
    return capped(scope, items, "undelivered", [r["group_name"] for r in rows])


# How much of a refused notification's text (and of Telegram's reason) the digest quotes.
UNDELIVERED_EXCERPT = 40


# How far back the reports section looks for reports still missing.
REPORTS_LOOKBACK = dt.timedelta(days=60)


async def reports_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Activity reports: due today and not filed, filed in the period (late ones marked),
    overdue (missing after the deadline, up to REPORTS_LOOKBACK back)."""
    cfg = scope.cfg
    tz = cfg.tz
    rules_ = report_rules.Rules.of(cfg.reports)
    cal = calendar_of(cfg)
    rows = await repo.reportable_between(conn, ts(scope.end - REPORTS_LOOKBACK), scope.end_ts,
                                         group_id=scope.group_id)
    due_today: list[str] = []
    filed: list[str] = []
    overdue: list[str] = []
    for r in rows:
        due = report_rules.due_at(parse_ts(r["end_at"]), cal, rules_, tz)
        item = scope.t("digest.reports.item", title=r["title"],
                       when=_fmt(scope.local(r["start_at"])),
                       group=r["group_name"] or scope.t("attendance.none"),
                       host=r["host_name"] or scope.t("attendance.none"), due=_fmt(due))
        at = parse_ts(r["submitted_at"]) if r["submitted_at"] else None
        if r["state"] == "submitted" and at is not None and at < scope.end:
            if scope.start <= at:
                filed.append(item + (scope.t("digest.reports.late") if r["late"] else ""))
            continue
        if due.date() == scope.today and due >= scope.end:
            due_today.append(item)
        elif due < scope.end:
            overdue.append(item)
    lines: list[str] = []
    for key, items in (("due_today", due_today), ("filed", filed), ("overdue", overdue)):
        if items:
            lines.append(scope.t(f"digest.reports.{key}", count=len(items)))
            lines.extend(capped(scope, items, "reports"))
    return lines


async def _credit_standings(
    conn: aiosqlite.Connection, scope: Scope
) -> tuple[float, dict[int, Any], list[Member]] | None:
    """(the line, standings by member, the ranked members) of this programme year, or None
    while the credits feature is missing or its ledger is empty. The ledger is kept in sync by
    the `credits.sync` due check, which runs before the digests in every tick."""
    cfg = scope.cfg
    year = credit_rules.credit_year(scope.today, cfg.program.year_starts)
    if not await ledger.has_entries(conn, year.label):
        return None
    members = await ledger.ranked_members(conn)
    totals = await ledger.totals(conn, year.label)
    yearly = {m.pk: totals.get(m.pk, 0.0) for m in members}
    line, ordered = credit_rules.standings(yearly, cfg.exit.top_n, cfg.exit.ratio)
    return line, {s.member_pk: s for s in ordered}, members


def _points(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


async def credits_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """Trainees below the current credit line (60% of the top five's average) and what each
    needs to reach it."""
    found = await _credit_standings(conn, scope)
    if found is None:
        return []
    line, by_pk, members = found
    year = credit_rules.credit_year(scope.today, scope.cfg.program.year_starts)
    late, unregistered = await spared(conn, scope.cfg, year, members)
    below = [(m, by_pk[m.pk]) for m in members if by_pk[m.pk].below
             and m.pk not in late and m.pk not in unregistered]
    if not below:
        return []
    below.sort(key=lambda x: (x[1].total, x[0].member_id))
    items = [
        scope.t("digest.credits.line", name=m.name,
                group=m.group_name or scope.t("attendance.none"), total=_points(s.total),
                need=_points(s.needed))
        for m, s in below
    ]
    return [scope.t("digest.credits.header", line=_points(line), count=len(below)),
            *capped(scope, items, "credits", [m.group_name for m, _ in below])]


async def my_credits_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """The trainee's credits this year and the distance to the line."""
    if scope.member is None:
        return []
    found = await _credit_standings(conn, scope)
    if found is None:
        return []
    line, by_pk, _ = found
    mine = by_pk.get(scope.member.pk)
    if mine is None:
        return []
    if mine.below:
        distance = scope.t("digest.credits.mine_below", need=_points(mine.needed))
    else:
        distance = scope.t("digest.credits.mine_above", over=_points(mine.total - line))
    return [scope.t("digest.credits.mine", total=_points(mine.total), line=_points(line),
                    distance=distance)]

