"""Leave requests applied to the database: asking, deciding, withdrawing, HR's after-the-fact
excuse, the approvers' reminders and the escalation to HR.

Each change is one transaction that re-reads and re-checks what it relies on (the request is
still pending, the presser may decide it, the activity is still scheduled), writes the change
and queues every notification in the outbox; the handler answers only after the commit. The
approvers' messages are remembered (leave_notices) so that, once one of them decides, the
others' messages are edited to say who decided. The rules themselves are in bot/leave/rules.py.

The cutoff (and the start, for withdrawing) is judged at `sent_at`, when the member sent the
request (bot.delivery.inbox.sent_at; never after `now`), so a request sent in time and handled
late (an outage, a restart, a crash replay) is accepted; the records are dated `now`, when the
bot made them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

from bot.activities.rules import ATTENDED
from bot.activities.scheduling import activity_card, activity_when, local
from bot.core import callbacks
from bot.core.clock import as_sent
from bot.core.config import Config
from bot.core.i18n import lang_of, t
from bot.delivery import notify
from bot.leave import rules
from bot.reminders.digest import Scope
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import leave as leave_repo
from storage import members as members_repo
from storage.activities import Activity, takes_part
from storage.db import Database, parse_ts, ts
from storage.leave import LeaveRequest
from storage.models import Member

if TYPE_CHECKING:
    from bot.core.services import Services

PREFIX = "leave"
Buttons = list[list[list[str]]]


# -- text -------------------------------------------------------------------------------------



def buttons(lang: str, request_id: int) -> Buttons:
    """批准 / 驳回 (Approve / Reject): the data carries only the request id."""
    return [[
        [t(lang, "leave.btn.approve"), callbacks.encode(PREFIX, "ok", request_id)],
        [t(lang, "leave.btn.reject"), callbacks.encode(PREFIX, "no", request_id)],
    ]]


def _stamp(text_ts: str | None, cfg: Config) -> str:
    return local(text_ts, cfg.tz).strftime("%m-%d %H:%M") if text_ts else ""


def request_text(
    lang: str, cfg: Config, req: LeaveRequest, activity: Activity, year_count: int,
    *, head: str = "leave.msg.new", **head_params: Any,
) -> str:
    """Who, which activity and when, the reason, this year's approved leaves; the outcome
    once decided."""
    lines = [t(lang, head, id=req.id, **head_params)]
    lines.append(t(lang, "leave.msg.who", name=req.member_name, member_id=req.member_id,
                   group=req.member_group_name or t(lang, "leave.none")))
    lines.append(activity_card(lang, activity, cfg.tz))
    lines.append(t(lang, "leave.msg.reason", reason=req.reason or t(lang, "leave.none")))
    lines.append(t(lang, "leave.msg.count", count=year_count))
    if req.late:
        lines.append(t(lang, "leave.msg.late"))
    outcome = outcome_text(lang, cfg, req)
    if outcome:
        lines.append("")
        lines.append(outcome)
    return "\n".join(lines)


def outcome_text(lang: str, cfg: Config, req: LeaveRequest) -> str:
    """How the request ended, with who and when ("" while pending)."""
    by = req.decider_name or t(lang, "leave.none")
    at = _stamp(req.decided_at, cfg)
    if req.state == "approved":
        return t(lang, "leave.outcome.approved", by=by, at=at)
    if req.state == "rejected":
        if req.decision_note:
            return t(lang, "leave.outcome.rejected_reason", by=by, at=at, note=req.decision_note)
        return t(lang, "leave.outcome.rejected", by=by, at=at)
    if req.state == "withdrawn":
        return t(lang, "leave.outcome.withdrawn")
    if req.state == "void":
        return t(lang, "leave.outcome.void")
    return ""


def state_text(lang: str, req: LeaveRequest) -> str:
    text = t(lang, f"leave.state.{req.state}")
    if req.late:
        text += t(lang, "leave.late_mark")
    return text


async def year_count(conn: aiosqlite.Connection, cfg: Config, req: LeaveRequest) -> int:
    """Approved leaves of the requester this (local calendar) year, this one not counted."""
    start = local(req.start_at, cfg.tz)
    lo, hi = rules.year_bounds(start)
    return await leave_repo.approved_count(conn, req.member_pk, ts(lo), ts(hi),
                                           exclude_id=req.id)


async def render(
    conn: aiosqlite.Connection, cfg: Config, lang: str, req: LeaveRequest,
    *, head: str = "leave.msg.new", **head_params: Any,
) -> str:
    activity = await activities_repo.by_pk(conn, req.activity_pk)
    assert activity is not None
    count = await year_count(conn, cfg, req)
    return request_text(lang, cfg, req, activity, count, head=head, **head_params)


# -- sending to approvers ---------------------------------------------------------------------


async def _enqueue(
    conn: aiosqlite.Connection, chat_id: int, member_pk: int | None, text: str, now: str,
    *, kind: str, buttons_: Buttons | None = None, dedupe_key: str | None = None,
    edit_of: int | None = None,
) -> int | None:
    payload: dict[str, Any] = {"text": text}
    if buttons_:
        payload["buttons"] = buttons_
    if edit_of is not None:
        payload["edit_of"] = edit_of
    return await notify.enqueue(
        conn, chat_id=chat_id, member_pk=member_pk, kind=kind, payload=payload, now=now,
        dedupe_key=dedupe_key,
    )


async def _to_person(
    conn: aiosqlite.Connection, cfg: Config, person: Member, req: LeaveRequest, now: str,
    *, kind: str, dedupe_key: str, head: str = "leave.msg.new", **head_params: Any,
) -> int | None:
    """The request card with its buttons, in the person's language."""
    if person.telegram_id is None or not person.active:
        return None
    lang = lang_of(person, cfg)
    text = await render(conn, cfg, lang, req, head=head, **head_params)
    return await _enqueue(conn, person.telegram_id, person.pk, text, now, kind=kind,
                          buttons_=buttons(lang, req.id), dedupe_key=dedupe_key)


async def _to_hr(
    conn: aiosqlite.Connection, cfg: Config, req: LeaveRequest, now: str,
    *, kind: str, dedupe_key: str, head: str = "leave.msg.new", **head_params: Any,
) -> list[int]:
    """The request card with buttons to the HR chat when configured, else every HR member
    (each in their own language)."""
    if cfg.program.hr_chat_id is not None:
        lang = cfg.program.language
        text = await render(conn, cfg, lang, req, head=head, **head_params)
        row = await _enqueue(conn, cfg.program.hr_chat_id, None, text, now, kind=kind,
                             buttons_=buttons(lang, req.id), dedupe_key=dedupe_key)
        return [row] if row else []
    ids: list[int] = []
    for hr in await members_repo.hr_members(conn):
        row = await _to_person(conn, cfg, hr, req, now, kind=kind,
                               dedupe_key=f"{dedupe_key}:{hr.pk}", head=head, **head_params)
        if row:
            ids.append(row)
    return ids


async def _to_approver(
    conn: aiosqlite.Connection, cfg: Config, req: LeaveRequest, now: str,
    *, kind: str, dedupe_key: str, head: str = "leave.msg.new", **head_params: Any,
) -> list[int]:
    """To whoever decides the request now: the group's current leader, else HR."""
    if req.route == "leader" and req.activity_group_id is not None:
        leader = await members_repo.group_leader(conn, req.activity_group_id)
        if leader is not None and leader.pk != req.member_pk:
            row = await _to_person(conn, cfg, leader, req, now, kind=kind,
                                   dedupe_key=dedupe_key, head=head, **head_params)
            return [row] if row else []
    return await _to_hr(conn, cfg, req, now, kind=kind, dedupe_key=dedupe_key, head=head,
                        **head_params)


async def _edit_notices(
    conn: aiosqlite.Connection, cfg: Config, req: LeaveRequest, now: str,
    *, skip_member: int | None = None,
) -> None:
    """Rewrites every approver's message about the request with its outcome (no buttons)."""
    readers: dict[int, Member | None] = {}
    for outbox_id, chat_id, member_pk in await leave_repo.notice_targets(conn, req.id):
        if member_pk is not None and member_pk == skip_member:
            continue
        if member_pk is not None and member_pk not in readers:
            readers[member_pk] = await members_repo.by_pk(conn, member_pk)
        lang = lang_of(readers.get(member_pk) if member_pk is not None else None, cfg)
        text = await render(conn, cfg, lang, req)
        await _enqueue(conn, chat_id, member_pk, text, now, kind="leave.decided",
                       edit_of=outbox_id)


async def _tell_member(
    conn: aiosqlite.Connection, cfg: Config, member_pk: int, key: str, now: str,
    *, kind: str, req: LeaveRequest, **params: Any,
) -> None:
    member = await members_repo.by_pk(conn, member_pk)
    if member is None or member.telegram_id is None or not member.active:
        return
    lang = lang_of(member, cfg)
    activity = await activities_repo.by_pk(conn, req.activity_pk)
    when = activity_when(lang, activity, cfg.tz) if activity else ""
    await _enqueue(conn, member.telegram_id, member.pk,
                   t(lang, key, id=req.id, title=req.title, when=when, **params), now, kind=kind)


# -- whom to ask ------------------------------------------------------------------------------


async def _route(
    conn: aiosqlite.Connection, activity: Activity, member: Member
) -> tuple[rules.Route, Member | None]:
    leader = (
        await members_repo.group_leader(conn, activity.group_id)
        if activity.group_id is not None else None
    )
    route = rules.route_for(activity.type, activity.group_id, member.role, member.group_id,
                            leader is not None and leader.pk != member.pk)
    return route, (leader if route == "leader" else None)


async def contact_text(
    conn: aiosqlite.Connection, lang: str, route: str, leader: Member | None
) -> str:
    """Whom to contact, by name: the group leader, or HR."""
    if route == "leader" and leader is not None:
        return t(lang, "leave.contact.leader", name=leader.name)
    names = [m.name for m in await members_repo.hr_members(conn)]
    if names:
        return t(lang, "leave.contact.hr_named", names=t(lang, "leave.list_sep").join(names))
    return t(lang, "leave.contact.hr")


# -- asking ------------------------------------------------------------------------------------


async def candidates(db: Database, member: Member, now: dt.datetime, limit: int = 10
                     ) -> tuple[list[Activity], dict[int, LeaveRequest]]:
    """The member's activities not yet over (to pick one for /leave) and their open requests."""
    async with db.read() as conn:
        found = await activities_repo.for_member(conn, member, end_after=ts(now), limit=limit)
        mine = [a for a in found if takes_part(a, member)]
        opened: dict[int, LeaveRequest] = {}
        for a in mine:
            req = await leave_repo.open_for(conn, member.pk, a.pk)
            if req is not None:
                opened[a.pk] = req
    return mine, opened


AskOutcome = Literal["ok", "too_late", "not_participant", "gone", "exists"]


@dataclass(frozen=True)
class AskResult:
    outcome: AskOutcome
    activity: Activity | None = None
    request: LeaveRequest | None = None
    contact: str = ""
    approver: str = ""


async def _check_ask(
    conn: aiosqlite.Connection, cfg: Config, member: Member, activity: Activity | None,
    sent: dt.datetime, lang: str,
) -> AskResult | None:
    """Why a request sent at `sent` cannot be made (None: it can)."""
    if activity is None or activity.status != "scheduled":
        return AskResult("gone", activity)
    if not takes_part(activity, member):
        return AskResult("not_participant", activity)
    existing = await leave_repo.open_for(conn, member.pk, activity.pk)
    if existing is not None:
        return AskResult("exists", activity, existing)
    if not rules.in_time(sent, parse_ts(activity.start_at), cfg.leave.cutoff_minutes):
        route, leader = await _route(conn, activity, member)
        return AskResult("too_late", activity,
                         contact=await contact_text(conn, lang, route, leader))
    return None


async def check_ask(
    db: Database, cfg: Config, member: Member, activity_pk: int, now: dt.datetime, lang: str,
    *, sent_at: dt.datetime | None = None,
) -> AskResult:
    """Whether the member may ask for leave for the activity, as of `sent_at` (None: `now`),
    before the reason is typed."""
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
        refused = await _check_ask(conn, cfg, member, activity, as_sent(sent_at, now), lang)
    return refused or AskResult("ok", activity)


async def find_activity(db: Database, activity_id: str) -> Activity | None:
    async with db.read() as conn:
        return await activities_repo.by_activity_id(conn, activity_id)


async def submit(
    db: Database, cfg: Config, member_pk: int, activity_pk: int, reason: str,
    now: dt.datetime, lang: str, *, sent_at: dt.datetime | None = None,
) -> AskResult:
    """Records the request sent at `sent_at` (None: `now`; the cutoff is judged by it) and
    sends it to its approver(s), in one transaction at `now`."""
    at = ts(now)
    async with db.tx() as conn:
        member = await members_repo.by_pk(conn, member_pk)
        activity = await activities_repo.by_pk(conn, activity_pk)
        if member is None:
            return AskResult("not_participant", activity)
        refused = await _check_ask(conn, cfg, member, activity, as_sent(sent_at, now), lang)
        if refused is not None:
            return refused
        assert activity is not None
        route, leader = await _route(conn, activity, member)
        request_id = await leave_repo.create(
            conn, member_pk=member.pk, activity_pk=activity.pk, reason=reason.strip(),
            route=route, approver_pk=leader.pk if leader else None, late=False,
            created_by=member.pk, now=at,
        )
        if request_id is None:  # a twin request won the race
            return AskResult("exists", activity, await leave_repo.open_for(
                conn, member.pk, activity.pk))
        req = await leave_repo.get(conn, request_id)
        assert req is not None
        ids = await _to_approver(conn, cfg, req, at, kind="leave.request",
                                 dedupe_key=f"leave:req:{req.id}")
        await leave_repo.add_notices(conn, req.id, ids)
        approver = (t(lang, "leave.contact.leader", name=leader.name) if leader
                    else t(lang, "leave.contact.hr"))
    return AskResult("ok", activity, req, approver=approver)


# -- deciding ----------------------------------------------------------------------------------

DecideOutcome = Literal["ok", "forbidden", "already", "gone", "attended"]


@dataclass(frozen=True)
class DecideResult:
    outcome: DecideOutcome
    request: LeaveRequest | None = None
    text: str = ""  # the card with its outcome, in the presser's language


async def may_decide(
    db: Database, cfg: Config, actor_pk: int, request_id: int, lang: str
) -> DecideResult:
    """Whether the actor may decide the request (for the Reject button, before the reason);
    when it is no longer pending, with the card showing how it ended."""
    async with db.read() as conn:
        checked = await _authorise(conn, actor_pk, request_id)
        if checked.outcome in ("ok", "forbidden") or checked.request is None:
            return checked
        return DecideResult(checked.outcome, checked.request,
                            await render(conn, cfg, lang, checked.request))


async def _authorise(conn: aiosqlite.Connection, actor_pk: int, request_id: int) -> DecideResult:
    actor = await members_repo.by_pk(conn, actor_pk)
    req = await leave_repo.get(conn, request_id)
    if actor is None or req is None or not rules.may_decide(
        actor_pk=actor.pk, actor_role=actor.role, actor_group_id=actor.group_id,
        actor_active=actor.active, route=req.route, activity_group_id=req.activity_group_id,
        requester_pk=req.member_pk,
    ):
        return DecideResult("forbidden")
    if req.state != "pending":
        return DecideResult("already", req)
    if req.activity_status != "scheduled":
        return DecideResult("gone", req)
    return DecideResult("ok", req)


async def decide(
    db: Database, cfg: Config, actor_pk: int, request_id: int, approve: bool, note: str,
    now: dt.datetime, lang: str,
) -> DecideResult:
    """Approves or rejects a pending request. The first decision wins: a second presser finds
    it decided (outcome "already", with the card showing who decided) and nothing changes."""
    at = ts(now)
    async with db.tx() as conn:
        checked = await _authorise(conn, actor_pk, request_id)
        if checked.outcome != "ok":
            if checked.request is not None:
                text = await render(conn, cfg, lang, checked.request)
                return DecideResult(checked.outcome, checked.request, text)
            return checked
        req = checked.request
        assert req is not None
        record = await attendance_repo.get(conn, req.activity_pk, req.member_pk)
        if approve and record is not None and record.status in ATTENDED | {"early_leave"}:
            # They came after all: an approval would contradict the roll.
            await leave_repo.void_on_checkin(conn, req.activity_pk, req.member_pk, at)
            req = await leave_repo.get(conn, req.id)
            assert req is not None
            await _edit_notices(conn, cfg, req, at)
            return DecideResult("attended", req, await render(conn, cfg, lang, req))
        closed = req.closed_at is not None
        state = "approved" if approve else "rejected"
        if not await leave_repo.decide(conn, req.id, state, actor_pk, "" if approve else note,
                                       at, late=approve and closed):
            req = await leave_repo.get(conn, req.id)
            return DecideResult("already", req, await render(conn, cfg, lang, req) if req else "")
        if approve and closed and (record is None or record.status == "absent"):
            # Approved after the roll call closed: the absence becomes an excused one.
            await attendance_repo.correct(
                conn, req.activity_pk, req.member_pk, "excused",
                t(cfg.program.language, "leave.correction_note", id=req.id), actor_pk, at,
            )
        req = await leave_repo.get(conn, req.id)
        assert req is not None
        if approve:
            key = "leave.notice.approved_late" if closed else "leave.notice.approved"
            await _tell_member(conn, cfg, req.member_pk, key, at, kind="leave.approved", req=req,
                               by=req.decider_name or "")
        elif req.decision_note:
            await _tell_member(conn, cfg, req.member_pk, "leave.notice.rejected_reason", at,
                               kind="leave.rejected", req=req, by=req.decider_name or "",
                               note=req.decision_note)
        else:
            await _tell_member(conn, cfg, req.member_pk, "leave.notice.rejected", at,
                               kind="leave.rejected", req=req, by=req.decider_name or "")
        await _edit_notices(conn, cfg, req, at, skip_member=actor_pk)
        text = await render(conn, cfg, lang, req)
    return DecideResult("ok", req, text)


# -- withdrawing -------------------------------------------------------------------------------

WithdrawOutcome = Literal["ok", "forbidden", "too_late", "already"]


async def withdraw(
    db: Database, cfg: Config, member_pk: int, request_id: int, now: dt.datetime,
    *, sent_at: dt.datetime | None = None,
) -> tuple[WithdrawOutcome, LeaveRequest | None]:
    """The trainee withdraws a pending request, or an approved one sent (`sent_at`, None:
    `now`) before the start."""
    at = ts(now)
    async with db.tx() as conn:
        req = await leave_repo.get(conn, request_id)
        if req is None or req.member_pk != member_pk:
            return "forbidden", None
        if req.state not in rules.OPEN_STATES:
            return "already", req
        if not rules.may_withdraw(req.state, as_sent(sent_at, now), parse_ts(req.start_at)):
            return "too_late", req
        was = req.state
        if not await leave_repo.withdraw(conn, req.id, member_pk, was, at):
            return "already", await leave_repo.get(conn, req.id)
        req = await leave_repo.get(conn, req.id)
        assert req is not None
        await _edit_notices(conn, cfg, req, at)
        if was == "approved" and req.decided_by is not None and req.decided_by != member_pk:
            await _tell_member(conn, cfg, req.decided_by, "leave.notice.withdrawn_approved", at,
                               kind="leave.withdrawn", req=req, name=req.member_name)
    return "ok", req


# -- HR's after-the-fact excuse ----------------------------------------------------------------

ExcuseOutcome = Literal[
    "ok", "no_member", "no_activity", "not_participant", "attended", "approved", "pending"
]


async def excuse(
    db: Database, cfg: Config, hr_pk: int, member_id: str, activity_id: str, reason: str,
    now: dt.datetime, lang: str, *, sent_at: dt.datetime | None = None,
) -> tuple[ExcuseOutcome, LeaveRequest | None, str]:
    """HR records a leave the trainee could not ask for in time: a pending request routed to
    HR (flagged late when HR sent it, `sent_at`, past the cutoff), answered with the card and
    its buttons. An existing pending request is shown instead (HR decides that one)."""
    at = ts(now)
    async with db.tx() as conn:
        member = await members_repo.by_member_id(conn, member_id)
        if member is None:
            return "no_member", None, ""
        activity = await activities_repo.by_activity_id(conn, activity_id)
        if activity is None or activity.status != "scheduled":
            return "no_activity", None, ""
        record = await attendance_repo.get(conn, activity.pk, member.pk)
        if record is None and not takes_part(activity, member):
            return "not_participant", None, ""
        if record is not None and record.status in ATTENDED | {"early_leave"}:
            return "attended", None, t(lang, f"attendance.status.{record.status}")
        existing = await leave_repo.open_for(conn, member.pk, activity.pk)
        if existing is not None:
            text = await render(conn, cfg, lang, existing)
            return ("approved" if existing.state == "approved" else "pending"), existing, text
        late = not rules.in_time(as_sent(sent_at, now), parse_ts(activity.start_at),
                                 cfg.leave.cutoff_minutes)
        request_id = await leave_repo.create(
            conn, member_pk=member.pk, activity_pk=activity.pk, reason=reason.strip(),
            route="hr", approver_pk=None, late=late, created_by=hr_pk, now=at,
        )
        assert request_id is not None  # no open request, and the write lock is ours
        req = await leave_repo.get(conn, request_id)
        assert req is not None
        text = await render(conn, cfg, lang, req, head="leave.msg.excuse")
    return "ok", req, text


# -- lists ---------------------------------------------------------------------------------------


async def own_requests(db: Database, member_pk: int) -> list[LeaveRequest]:
    async with db.read() as conn:
        return await leave_repo.for_member(conn, member_pk)


async def queue(db: Database, cfg: Config, member: Member, lang: str,
                limit: int = 10) -> tuple[list[tuple[LeaveRequest, str]], int]:
    """The pending requests the member decides (HR: routed to HR or escalated; a leader: the
    group's), each with its card; and how many there are in all."""
    async with db.read() as conn:
        if member.is_hr:
            found = await leave_repo.pending_for_hr(conn)
        elif member.is_leader and member.group_id is not None:
            found = await leave_repo.pending_for_leader(conn, member.group_id)
        else:
            return [], 0
        cards = [(r, await render(conn, cfg, lang, r)) for r in found[:limit]]
    return cards, len(found)


# -- due checks: the approver's reminder, HR at the start ----------------------------------------


async def remind_due(services: Services, now: dt.datetime) -> int:
    """Reminds the approver of a request still pending `remind_before_minutes` before the
    start (once: `reminded_at` and the outbox dedupe key)."""
    cfg = services.config
    before = cfg.leave.remind_before_minutes
    if before <= 0:
        return 0
    horizon = ts(now + dt.timedelta(minutes=before))
    async with services.db.read() as conn:
        found = await leave_repo.reminder_candidates(conn, horizon)
    sent = 0
    at = ts(now)
    for req in found:
        verdict = rules.reminder_verdict(now, parse_ts(req.start_at), parse_ts(req.created_at),
                                         before)
        if verdict == "wait":
            continue
        async with services.db.tx() as conn:
            fresh = await leave_repo.get(conn, req.id)
            if fresh is None or fresh.state != "pending" or fresh.reminded_at is not None:
                continue
            await leave_repo.mark_reminded(conn, req.id, at)
            if verdict == "send":
                start = _stamp(req.start_at, cfg)
                ids = await _to_approver(conn, cfg, fresh, at, kind="leave.remind",
                                         dedupe_key=f"leave:remind:{req.id}",
                                         head="leave.msg.remind", start=start)
                await leave_repo.add_notices(conn, req.id, ids)
                sent += 1
    return sent


async def escalate_due(services: Services, now: dt.datetime) -> int:
    """Tells HR of every request still pending when its activity starts (once)."""
    cfg = services.config
    async with services.db.read() as conn:
        found = await leave_repo.escalation_candidates(conn, ts(now))
    sent = 0
    at = ts(now)
    for req in found:
        verdict = rules.escalation_verdict(now, parse_ts(req.start_at), parse_ts(req.created_at))
        if verdict == "wait":
            continue
        async with services.db.tx() as conn:
            fresh = await leave_repo.get(conn, req.id)
            if fresh is None or fresh.state != "pending" or fresh.escalated_at is not None:
                continue
            await leave_repo.mark_escalated(conn, req.id, at)
            if verdict == "send":
                ids = await _to_hr(conn, cfg, fresh, at, kind="leave.escalate",
                                   dedupe_key=f"leave:escalate:{req.id}",
                                   head="leave.msg.escalate")
                await leave_repo.add_notices(conn, req.id, ids)
                sent += 1
    return sent


# -- HR's list of pending things -----------------------------------------------------------------


async def pending_leave(conn: aiosqlite.Connection, lang: str) -> list[str]:
    """One line per leave request waiting for HR (routed to HR, or escalated at the start)."""
    return [
        t(lang, "leave.pending_line", id=r.id, name=r.member_name, title=r.title,
          activity_id=r.activity_id, late=t(lang, "leave.late_mark") if r.late else "")
        for r in await leave_repo.pending_for_hr(conn)
    ]


# -- the leader's weekly digest ------------------------------------------------------------------


async def leave_digest_section(conn: aiosqlite.Connection, scope: Scope) -> list[str]:
    """The group's leave requests waiting for the leader's decision. (HR's digest lists those
    waiting for HR through bot.core.pending, in its "pending" section.)"""
    if scope.group_id is None:
        return []
    return [
        scope.t("leave.digest.line", id=r.id, name=r.member_name, title=r.title,
                start=scope.local(r.start_at).strftime("%m-%d %H:%M"))
        for r in await leave_repo.pending_for_leader(conn, scope.group_id)
    ]
