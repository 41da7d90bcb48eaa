"""Exit proposals: the rules are evaluated, HR is asked, HR decides.

A due check (`exits.evaluate`) judges rules 2–4 whenever their inputs change. Rule 1 judges the
programme year that ended last: proposed at the first tick after it ended, then re-evaluated
whenever anything changed until the year is decided, `[exit] decide_after_days` after its end
(then its line is kept in `credit_years` and its totals are frozen). While it is re-evaluated a
rule-1 proposal follows its evidence: withdrawn when the member is no longer below the line
(HR's buttons say so; HR and the member are told), its evidence updated when the total or the
line moved (the card says when), and made for members newly below it. A member who joined in
the year's last quarter is not judged by rule 1 that year (bot.credits.rules).

Each finding becomes one proposal per (member, rule, period) — never made twice, also after HR
decided it — and HR is notified with Confirm / Dismiss buttons. An open proposal of rules 2–4
whose finding no longer holds (a corrected import) is withdrawn and HR's buttons say so. Every
copy of a proposal HR was shown (the pushed notice, the cards /exits lists) is an outbox row
kept in its `notices`, so deciding it anywhere edits them all. Only HR decides (checked from the
database by the caller): a confirmed exit deactivates the member — their history stays — and
tells them and their group leader.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.core import callbacks
from bot.core.config import Config
from bot.core.i18n import normalize, t
from bot.credits import exit_rules as rules
from bot.credits import rules as credit_rules
from bot.credits.sync import fingerprint, sync
from bot.credits.views import num
from bot.delivery import notify
from storage import audit as audit_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage.db import Database, parse_ts, ts
from storage.exits import Proposal
from storage.models import Member

if TYPE_CHECKING:
    from bot.core.services import Services

PREFIX = "exit"
CONTINUOUS_RULES: tuple[str, ...] = ("exams", "satisfaction", "supervision")


def evidence_text(lang: str, rule: str, evidence: dict[str, Any]) -> str:
    """What the rule found, in words."""
    if rule == "credits":
        return t(lang, "credits.exit.evidence.credits", year=evidence["year"],
                 total=num(evidence["total"]), line=num(evidence["line"]))
    if rule == "exams":
        sep = t(lang, "credits.exit.sep")
        items = sep.join(
            t(lang, "credits.exit.evidence.exam_item", semester=f["semester"],
              score=num(f["score"]))
            for f in evidence["failed"]
        )
        return t(lang, "credits.exit.evidence.exams", count=len(evidence["failed"]),
                 pass_mark=num(evidence["pass_mark"]), items=items)
    if rule == "satisfaction":
        return t(lang, "credits.exit.evidence.satisfaction", year=evidence["year"],
                 share=num(evidence["share"] * 100), min=num(evidence["min"] * 100))
    sep = t(lang, "credits.exit.sep")
    items = sep.join(
        t(lang, "credits.exit.evidence.supervision_item", period=p["period"], rank=p["rank"],
          total=p["total"])
        for p in evidence["periods"]
    )
    return t(lang, "credits.exit.evidence.supervision", count=len(evidence["periods"]),
             fraction=evidence["fraction"], items=items)


def card(lang: str, proposal: Proposal, member: Member, tz: dt.tzinfo = dt.UTC) -> str:
    """The proposal as HR reads it (with when its evidence last changed, if it did)."""
    text = t(lang, "credits.exit.card", name=member.name, member_id=member.member_id,
             group=member.group_name or t(lang, "credits.no_group"),
             rule=t(lang, f"credits.exit.rule.{proposal.rule}"),
             evidence=evidence_text(lang, proposal.rule, proposal.evidence))
    if proposal.evidence_changed_at:
        when = parse_ts(proposal.evidence_changed_at).astimezone(tz).strftime("%m-%d %H:%M")
        text += "\n" + t(lang, "credits.exit.evidence_changed", when=when)
    return text


def buttons(lang: str, proposal_id: int) -> notify.Buttons:
    return [[
        [t(lang, "credits.exit.btn_confirm"), callbacks.encode(PREFIX, "ask", proposal_id)],
        [t(lang, "credits.exit.btn_dismiss"), callbacks.encode(PREFIX, "dis", proposal_id)],
    ]]


# -- evaluation -----------------------------------------------------------------------------


def findings(
    cfg: Config,
    exams: list[tuple[int, str, float]],
    votes: list[tuple[int, int, float]],
    ranks: list[tuple[int, str, int, int]],
) -> list[rules.Finding]:
    """Rules 2–4 over the imported inputs."""
    ex = cfg.exit
    found = rules.exams_rule(
        (rules.ExamResult(*r) for r in exams), ex.exam_pass_mark, ex.max_failed_exams
    )
    found += rules.satisfaction_rule(votes, ex.min_satisfaction)
    found += rules.supervision_rule(
        (rules.SupervisionRank(*r) for r in ranks),
        credit_rules.parse_fraction(ex.supervision_fraction), ex.supervision_consecutive,
    )
    return found


async def _notify_hr(
    conn: aiosqlite.Connection, cfg: Config, proposal_id: int, member: Member, now: str
) -> None:
    p = await exits_repo.proposal(conn, proposal_id)
    assert p is not None
    lang = cfg.program.language
    ids = await notify.to_hr(
        conn, cfg, "credits.exit.proposed", now=now, kind="credits.exit.proposed",
        buttons=buttons(lang, proposal_id),
        dedupe_key=f"exit:{proposal_id}:{p.created_at}",
        card=card(lang, p, member, cfg.tz),
    )
    await exits_repo.set_notices(conn, proposal_id, ids)


async def _propose(
    conn: aiosqlite.Connection, cfg: Config, f: rules.Finding, member: Member, now: str
) -> bool:
    pid = await exits_repo.create_proposal(conn, f.member_pk, f.rule, f.period, f.evidence, now)
    if pid is None:
        existing = await exits_repo.proposal_by_key(conn, f.member_pk, f.rule, f.period)
        if existing is None or not await exits_repo.reopen(conn, existing.id, f.evidence, now):
            return False
        pid = existing.id
    await _notify_hr(conn, cfg, pid, member, now)
    return True


async def _edit_notices(
    conn: aiosqlite.Connection, cfg: Config, p: Proposal, member: Member, outcome_key: str | None,
    now: str, **params: Any,
) -> None:
    """Replaces the buttons of every copy HR was shown of `p` with the outcome; with no
    outcome (the evidence changed) the copies show the new card and keep their buttons."""
    targets = await exits_repo.notice_targets(conn, p.notices)
    people = await ledger.members_by_pk(conn, [m for _, _, m in targets if m is not None])
    for outbox_id, chat_id, member_pk in targets:
        reader = people.get(member_pk) if member_pk is not None else None
        lang = normalize(reader.language if reader else None, cfg.program.language)
        payload: dict[str, Any] = {"edit_of": outbox_id}
        if outcome_key is None:
            payload["text"] = t(lang, "credits.exit.proposed", card=card(lang, p, member, cfg.tz))
            payload["buttons"] = buttons(lang, p.id)
        else:
            payload["text"] = f"{card(lang, p, member, cfg.tz)}\n\n{t(lang, outcome_key, **params)}"
        await notify.enqueue(
            conn, chat_id=chat_id, member_pk=member_pk, kind="credits.exit.decided",
            payload=payload, now=now,
        )


# The state the last evaluation saw, per open database.
_seen: weakref.WeakKeyDictionary[Database, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def _year_judged(cfg: Config, now: dt.datetime) -> tuple[credit_rules.ProgrammeYear, str]:
    """The programme year rule 1 judges now (the one that ended last) and its phase."""
    today = now.astimezone(cfg.tz).date()
    current = credit_rules.credit_year(today, cfg.program.year_starts)
    year = credit_rules.credit_year(current.start - dt.timedelta(days=1), cfg.program.year_starts)
    return year, credit_rules.year_phase(year, today, cfg.exit.decide_after_days)


async def evaluate(db: Database, cfg: Config, now: dt.datetime) -> int:
    """Judges the rules; returns how many proposals were made (or reopened)."""
    await sync(db, cfg, now)
    at = ts(now)
    async with db.tx() as conn:
        found = findings(cfg, await exits_repo.exam_results(conn),
                         await exits_repo.satisfaction_votes(conn),
                         await exits_repo.supervision_ranks(conn))
        made = await _apply(conn, cfg, found, CONTINUOUS_RULES, at)
        made += await _judge_year(conn, cfg, now)
        # Inside the transaction: a later write by anyone is not mistaken for one seen here.
        seen = (await fingerprint(conn, cfg), cfg.exit, cfg.program.year_starts,
                _year_judged(cfg, now))
    _seen[db] = seen
    return made


async def _apply(
    conn: aiosqlite.Connection, cfg: Config, found: list[rules.Finding],
    withdrawable: tuple[str, ...], at: str, *, period: str | None = None,
) -> int:
    """Proposes what was found for active members; withdraws open proposals of the
    `withdrawable` rules (of one `period` when given) whose finding is gone. Rule 1's open
    proposals follow their evidence, and HR and the member are told of a withdrawal."""
    people = await ledger.members_by_pk(conn, [f.member_pk for f in found])
    made = 0
    keys = set()
    for f in sorted(found, key=lambda f: f.key):
        keys.add(f.key)
        member = people.get(f.member_pk)
        if member is None or not member.active or member.role == "hr":
            continue
        if await _propose(conn, cfg, f, member, at):
            made += 1
        elif f.rule == "credits":
            await _follow_evidence(conn, cfg, f, member, at)
    if withdrawable:
        for p in await exits_repo.proposals(conn, ("open",), rules=withdrawable, period=period):
            if (p.member_pk, p.rule, p.period) in keys:
                continue
            if await exits_repo.decide(conn, p.id, "withdrawn", None, at):
                member = await members_repo.by_pk(conn, p.member_pk)
                if member is not None:
                    await _edit_notices(conn, cfg, p, member, "credits.exit.withdrawn", at)
                    if p.rule == "credits":
                        await _tell_withdrawn(conn, cfg, p, member, at)
    return made


async def _follow_evidence(
    conn: aiosqlite.Connection, cfg: Config, f: rules.Finding, member: Member, at: str
) -> None:
    """An open rule-1 proposal still holds: its evidence (total, line) as it is now; HR's
    copies show the new card, with when it changed."""
    p = await exits_repo.proposal_by_key(conn, f.member_pk, f.rule, f.period)
    if p is None or p.state != "open":
        return
    if await exits_repo.update_evidence(conn, p.id, f.evidence, at):
        updated = await exits_repo.proposal(conn, p.id)
        assert updated is not None
        await _edit_notices(conn, cfg, updated, member, None, at)


async def _tell_withdrawn(
    conn: aiosqlite.Connection, cfg: Config, p: Proposal, member: Member, at: str
) -> None:
    """A rule-1 proposal withdrawn before the year was decided: HR and the member are told."""
    lang = cfg.program.language
    await notify.to_hr(conn, cfg, "credits.exit.withdrawn_hr", now=at,
                       kind="credits.exit.withdrawn_hr", name=member.name,
                       member_id=member.member_id, year=p.period,
                       rule=t(lang, f"credits.exit.rule.{p.rule}"))
    await notify.to_member(conn, cfg, member, "credits.exit.withdrawn_member", now=at,
                           kind="credits.exit.withdrawn_member", year=p.period)


async def _judge_year(conn: aiosqlite.Connection, cfg: Config, now: dt.datetime) -> int:
    """Rule 1 for the programme year that ended last, until it is decided (then once more, and
    its line is kept: the year is decided, its totals frozen)."""
    year, phase = _year_judged(cfg, now)
    if await exits_repo.year_closed(conn, year.label):
        return 0
    at = ts(now)
    made = 0
    line = 0.0
    if await ledger.has_entries(conn, year.label):
        members = await ledger.ranked_members(conn)
        totals = await ledger.totals(conn, year.label)
        yearly = {m.pk: totals.get(m.pk, 0.0) for m in members}
        line = credit_rules.line(yearly.values(), cfg.exit.top_n, cfg.exit.ratio)
        joined = await ledger.joined_on(conn, yearly)
        judged = {
            pk: total for pk, total in yearly.items()
            if credit_rules.judged_by_rule_one(_local_day(joined.get(pk), cfg), year)
        }
        found = rules.credits_rule(judged, line, year.label)
        made = await _apply(conn, cfg, found, ("credits",), at, period=str(year.label))
    if phase == "decided":
        await exits_repo.close_year(conn, year.label, line, at)
    return made


def _local_day(stored: str | None, cfg: Config) -> dt.date | None:
    return parse_ts(stored).astimezone(cfg.tz).date() if stored else None


async def evaluate_check(services: Services, now: dt.datetime) -> int:
    """Every tick: the rules when anything changed, or when a year ended or was decided."""
    db, cfg = services.db, services.config
    async with db.read() as conn:
        before = await fingerprint(conn, cfg)
    if _seen.get(db) == (before, cfg.exit, cfg.program.year_starts, _year_judged(cfg, now)):
        return 0
    return await evaluate(db, cfg, now)


# -- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    """The outcome for the HR member who pressed: the updated card and a short answer."""

    text: str
    answer_key: str
    member: Member


class ExitError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def decide(
    conn: aiosqlite.Connection, cfg: Config, actor: Member, proposal_id: int, confirm: bool,
    now: dt.datetime, lang: str,
) -> Decided:
    """Confirms or dismisses an open proposal (the caller checked `actor` is HR from the
    database); raises ExitError with a catalog key when it cannot."""
    if not actor.is_hr or not actor.active:
        raise ExitError("error.forged")
    p = await exits_repo.proposal(conn, proposal_id)
    if p is None:
        raise ExitError("error.forged")
    member = await members_repo.by_pk(conn, p.member_pk)
    if member is None:
        raise ExitError("error.forged")
    at = ts(now)
    state = "confirmed" if confirm else "dismissed"
    if not await exits_repo.decide(conn, p.id, state, actor.pk, at):
        now_state = await exits_repo.proposal(conn, p.id)
        raise ExitError(f"credits.exit.already_{now_state.state if now_state else 'withdrawn'}")
    when = now.astimezone(cfg.tz).strftime("%m-%d %H:%M")
    outcome = "credits.exit.outcome_confirmed" if confirm else "credits.exit.outcome_dismissed"
    if confirm:
        leader = (await members_repo.group_leader(conn, member.group_id)
                  if member.group_id is not None else None)
        rule_name = t(normalize(member.language, cfg.program.language),
                      f"credits.exit.rule.{p.rule}")
        # Told before the flag goes down (an inactive member gets no messages).
        await notify.to_member(conn, cfg, member, "credits.exit.told_member", now=at,
                               kind="credits.exit.told_member", rule=rule_name,
                               program=cfg.program.name)
        if member.active:
            await exits_repo.deactivate(conn, member.pk, at)
        if leader is not None and leader.pk != member.pk:
            await notify.to_member(conn, cfg, leader, "credits.exit.told_leader", now=at,
                                   kind="credits.exit.told_leader", name=member.name)
        await audit_repo.record(
            conn, at=at, actor_pk=actor.pk, action="exit.confirm",
            subject=f"member:{member.member_id}", before={"active": member.active},
            after={"active": False}, reason=f"{p.rule} {p.period}",
        )
    else:
        await audit_repo.record(
            conn, at=at, actor_pk=actor.pk, action="exit.dismiss",
            subject=f"member:{member.member_id}", before=None, after=None,
            reason=f"{p.rule} {p.period}",
        )
    await _edit_notices(conn, cfg, p, member, outcome, at, by=actor.name, when=when)
    text = f"{card(lang, p, member, cfg.tz)}\n\n{t(lang, outcome, by=actor.name, when=when)}"
    if confirm and member.role == "leader":
        text += "\n" + t(lang, "credits.exit.was_leader", name=member.name,
                          group=member.group_name or "")
    answer = "credits.exit.answer_confirmed" if confirm else "credits.exit.answer_dismissed"
    return Decided(text, answer, member)


# -- /exits --------------------------------------------------------------------------------------


async def show_copies(
    conn: aiosqlite.Connection, cfg: Config, viewer: Member, proposals: list[Proposal],
    lang: str, now: str,
) -> int:
    """Queues a card of each proposal to `viewer`'s chat, recorded among its notices (so a
    decision anywhere edits it too); one whose notice to that chat is still waiting to be sent
    (made by the evaluation /exits itself ran) is not shown twice. Returns how many."""
    if viewer.telegram_id is None:
        return 0
    queued = 0
    people = await ledger.members_by_pk(conn, [p.member_pk for p in proposals])
    for p in proposals:
        member = people.get(p.member_pk)
        if member is None or await exits_repo.pending_notice_to(conn, p.notices,
                                                                 viewer.telegram_id):
            continue
        row = await notify.enqueue(
            conn, chat_id=viewer.telegram_id, member_pk=viewer.pk, kind="credits.exit.card",
            payload={"text": card(lang, p, member, cfg.tz), "buttons": buttons(lang, p.id)},
            now=now,
        )
        if row:
            await exits_repo.set_notices(conn, p.id, [*p.notices, row])
            queued += 1
    return queued


# -- HR's list of pending things --------------------------------------------------------------


async def pending_exits(conn: aiosqlite.Connection, lang: str) -> list[str]:
    """One line per open exit proposal, for /admin's pending list."""
    open_ = await exits_repo.proposals(conn, ("open",))
    people = await ledger.members_by_pk(conn, [p.member_pk for p in open_])
    return [
        t(lang, "credits.exit.pending_line", name=people[p.member_pk].name,
          rule=t(lang, f"credits.exit.rule.{p.rule}"))
        for p in open_ if p.member_pk in people
    ]
