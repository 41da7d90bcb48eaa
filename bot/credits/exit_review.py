"""Exit proposals: the rules are evaluated, HR is asked, HR decides.

A due check (`exits.evaluate`) judges rules 2–4 whenever their inputs change and rule 1 once
per programme year, at the first tick after it ended. Each finding becomes one proposal per
(member, rule, period) — never made twice, also after HR decided it — and HR is notified with
Confirm / Dismiss buttons. An open proposal of rules 2–4 whose finding no longer holds (a
corrected import) is withdrawn and HR's buttons say so. Only HR decides (checked from the
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
from storage.db import Database, ts
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


def card(lang: str, proposal: Proposal, member: Member) -> str:
    """The proposal as HR reads it."""
    return t(lang, "credits.exit.card", name=member.name, member_id=member.member_id,
             group=member.group_name or t(lang, "credits.no_group"),
             rule=t(lang, f"credits.exit.rule.{proposal.rule}"),
             evidence=evidence_text(lang, proposal.rule, proposal.evidence))


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
        card=card(lang, p, member),
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
    conn: aiosqlite.Connection, cfg: Config, p: Proposal, member: Member, outcome_key: str,
    now: str, **params: Any,
) -> None:
    """Replaces the buttons of every HR notice of `p` with the outcome."""
    targets = await exits_repo.notice_targets(conn, p.notices)
    people = await ledger.members_by_pk(conn, [m for _, _, m in targets if m is not None])
    for outbox_id, chat_id, member_pk in targets:
        reader = people.get(member_pk) if member_pk is not None else None
        lang = normalize(reader.language if reader else None, cfg.program.language)
        text = f"{card(lang, p, member)}\n\n{t(lang, outcome_key, **params)}"
        await notify.enqueue(
            conn, chat_id=chat_id, member_pk=member_pk, kind="credits.exit.decided",
            payload={"text": text, "edit_of": outbox_id}, now=now,
        )


# The state the last evaluation saw, per open database.
_seen: weakref.WeakKeyDictionary[Database, tuple[Any, ...]] = weakref.WeakKeyDictionary()


async def evaluate(db: Database, cfg: Config, now: dt.datetime) -> int:
    """Judges the rules; returns how many proposals were made (or reopened)."""
    await sync(db, cfg, now)
    at = ts(now)
    async with db.tx() as conn:
        found = findings(cfg, await exits_repo.exam_results(conn),
                         await exits_repo.satisfaction_votes(conn),
                         await exits_repo.supervision_ranks(conn))
        made = await _apply(conn, cfg, found, CONTINUOUS_RULES, at)
        # Inside the transaction: a later write by anyone is not mistaken for one seen here.
        seen = (await fingerprint(conn, cfg), cfg.exit)
    _seen[db] = seen
    return made + await _year_end(db, cfg, now)


async def _apply(
    conn: aiosqlite.Connection, cfg: Config, found: list[rules.Finding],
    withdrawable: tuple[str, ...], at: str,
) -> int:
    """Proposes what was found for active members; withdraws open proposals of the
    `withdrawable` rules whose finding is gone."""
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
    if withdrawable:
        for p in await exits_repo.proposals(conn, ("open",), rules=withdrawable):
            if (p.member_pk, p.rule, p.period) in keys:
                continue
            if await exits_repo.decide(conn, p.id, "withdrawn", None, at):
                member = await members_repo.by_pk(conn, p.member_pk)
                if member is not None:
                    await _edit_notices(conn, cfg, p, member, "credits.exit.withdrawn", at)
    return made


async def _year_end(db: Database, cfg: Config, now: dt.datetime) -> int:
    """Rule 1 for the programme year that ended last, once."""
    year = credit_rules.credit_year(now.astimezone(cfg.tz).date(), cfg.program.year_starts)
    previous = year.label - 1
    async with db.read() as conn:
        if await exits_repo.year_closed(conn, previous):
            return 0
    at = ts(now)
    async with db.tx() as conn:
        if await exits_repo.year_closed(conn, previous):
            return 0
        members = await ledger.ranked_members(conn)
        totals = await ledger.totals(conn, previous)
        if not await ledger.has_entries(conn, previous):
            await exits_repo.close_year(conn, previous, 0.0, at)
            return 0
        yearly = {m.pk: totals.get(m.pk, 0.0) for m in members}
        line = credit_rules.line(yearly.values(), cfg.exit.top_n, cfg.exit.ratio)
        made = await _apply(conn, cfg, rules.credits_rule(yearly, line, previous), (), at)
        await exits_repo.close_year(conn, previous, line, at)
    return made


async def evaluate_check(services: Services, now: dt.datetime) -> int:
    """Every tick: rules 2–4 when anything changed, rule 1 once a year."""
    db, cfg = services.db, services.config
    async with db.read() as conn:
        before = await fingerprint(conn, cfg)
    if _seen.get(db) == (before, cfg.exit):
        return await _year_end(db, cfg, now)
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
    text = f"{card(lang, p, member)}\n\n{t(lang, outcome, by=actor.name, when=when)}"
    if confirm and member.role == "leader":
        text += "\n" + t(lang, "credits.exit.was_leader", name=member.name,
                          group=member.group_name or "")
    answer = "credits.exit.answer_confirmed" if confirm else "credits.exit.answer_dismissed"
    return Decided(text, answer, member)


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
