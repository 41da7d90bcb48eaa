"""Leave in chat: /leave (ask), /leaves (own requests; an approver's queue), /excuse (HR records an
after-the-fact leave), the Approve / Reject buttons with an optional rejection reason, and
withdrawing.

/leave lists the user's activities not yet over as buttons (or takes an activity id), asks for
the reason, shows what will be sent and sends it on the confirming tap. Button data carries only
an id; who may press what is checked in the database by bot.leave.flow, in the transaction that
makes the change, so a button still works after a restart and a forged one changes nothing.
The cutoff is judged by when the member sent the request (bot.delivery.inbox.now_and_sent).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities.scheduling import activity_card, local
from bot.core import callbacks, commands, dialog
from bot.core.services import StudyContext
from bot.core.text import split_message
from bot.delivery.inbox import now_and_sent
from bot.leave import flow as leave_flow
from bot.leave import rules
from bot.leave.flow import PREFIX, AskResult, DecideResult
from handlers.replies import edit, markup, reply_long
from storage.db import parse_ts
from storage.leave import LeaveRequest
from storage.models import Member

FEATURE = "leave"
QUEUE_LIMIT = 10

commands.register("leave", roles=frozenset({"trainee", "leader"}), order=20)
commands.register("leaves", order=21)
commands.register("excuse", roles=frozenset({"hr"}), order=22)


def _decide_markup(context: StudyContext, request_id: int) -> InlineKeyboardMarkup | None:
    """批准 / 驳回 under a request's card."""
    return markup([
        [(text, data) for text, data in row]
        for row in leave_flow.buttons(context.lang, request_id)
    ])


def _member(context: StudyContext) -> Member:
    member = context.member
    assert member is not None
    return member


async def _edit_card(context: StudyContext, state: dict[str, Any], text: str) -> None:
    """Rewrites the card the approver pressed Reject on (remembered in the dialog)."""
    with contextlib.suppress(BadRequest):  # unchanged text, or a message too old to edit
        await context.bot.edit_message_text(
            split_message(text)[0], chat_id=int(state["chat"]), message_id=int(state["message"]),
        )


def _hm(context: StudyContext, text_ts: str) -> str:
    return local(text_ts, context.services.clock.tz).strftime("%m-%d %H:%M")


# -- /leave -----------------------------------------------------------------------------------


async def leave_command(update: Update, context: StudyContext) -> None:
    """/leave [activity_id]: pick an activity, give the reason, confirm."""
    message = update.effective_message
    assert message is not None
    member = _member(context)
    services = context.services
    if member.is_hr:
        await message.reply_text(context.t("leave.ask.hr"))
        return
    if context.args:
        activity = await leave_flow.find_activity(services.db, context.args[0].strip())
        if activity is None:
            await message.reply_text(
                context.t("leave.ask.unknown", activity_id=context.args[0][:40])
            )
            return
        await _picked(update, message, context, activity.pk)
        return
    found, opened = await leave_flow.candidates(services.db, member, services.clock.now())
    if not found:
        await message.reply_text(context.t("leave.ask.none"))
        return
    rows = []
    for a in found:
        label = f"{_hm(context, a.start_at)} {a.title}"
        if a.pk in opened:
            label += context.t("leave.ask.marked", state=context.t(
                f"leave.state.{opened[a.pk].state}"))
        rows.append([(label[:60], callbacks.encode(PREFIX, "pick", a.pk))])
    await message.reply_text(context.t("leave.ask.pick"), reply_markup=markup(rows))


async def _picked(
    update: Update, message: Message, context: StudyContext, activity_pk: int
) -> None:
    """An activity was chosen: refuse (too late, already asked...) or ask for the reason."""
    services = context.services
    now, sent = now_and_sent(update, context)
    result = await leave_flow.check_ask(
        services.db, services.config, _member(context), activity_pk, now, context.lang,
        sent_at=sent,
    )
    if result.outcome != "ok":
        await reply_long(message, _refusal(context, result))
        return
    assert result.activity is not None
    dialog.begin(context, FEATURE, step="reason", activity=activity_pk,
                 title=result.activity.title)
    await reply_long(message, context.t(
        "leave.ask.reason", card=activity_card(context.lang, result.activity,
                                               services.clock.tz),
        limit=services.config.leave.max_reason_chars,
    ))


def _refusal(context: StudyContext, result: AskResult) -> str:
    activity = result.activity
    title = activity.title if activity else ""
    if result.outcome == "too_late" and activity is not None:
        deadline = rules.deadline(parse_ts(activity.start_at),
                                  context.services.config.leave.cutoff_minutes)
        return context.t(
            "leave.ask.too_late", title=title, contact=result.contact,
            deadline=deadline.astimezone(context.services.clock.tz).strftime("%m-%d %H:%M"),
        )
    if result.outcome == "exists" and result.request is not None:
        return context.t("leave.ask.exists", title=title, id=result.request.id,
                         state=leave_flow.state_text(context.lang, result.request))
    if result.outcome == "not_participant":
        return context.t("leave.ask.not_participant", title=title)
    return context.t("leave.ask.gone", title=title)


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The reason of a request, or an approver's reason for rejecting."""
    message = update.effective_message
    assert message is not None
    services = context.services
    limit = services.config.leave.max_reason_chars
    text = (message.text or "").strip()
    verdict = rules.check_reason(text, limit)
    if verdict == "too_long":
        await message.reply_text(context.t("leave.ask.too_long", count=len(text), limit=limit))
        return
    if state.get("step") == "reject":
        if verdict == "empty":
            await message.reply_text(context.t("leave.decide.reason_text"))
            return
        dialog.end(context)
        result = await leave_flow.decide(
            services.db, services.config, _member(context).pk, int(state["request"]), False,
            text, services.clock.now(), context.lang,
        )
        await _after_typed_decision(message, context, result, state)
        return
    if state.get("step") != "reason":
        return  # waiting for a button: a stray message changes nothing
    if verdict == "empty":
        await message.reply_text(context.t("leave.ask.empty"))
        return
    activity_pk = int(state["activity"])
    title = str(state.get("title", ""))
    dialog.begin(context, FEATURE, step="confirm", activity=activity_pk, title=title,
                 reason=text)
    await message.reply_text(
        context.t("leave.ask.confirm", title=title, reason=text),
        reply_markup=markup([[
            (context.t("leave.btn.send"), callbacks.encode(PREFIX, "send", activity_pk)),
            (context.t("leave.btn.cancel"), callbacks.encode(PREFIX, "cx", activity_pk)),
        ]]),
    )


async def _send(update: Update, context: StudyContext, message: Message, pk: int) -> None:
    """The confirming tap: the request is recorded and goes to its approver."""
    query = update.callback_query
    assert query is not None
    services = context.services
    state = dialog.current(context)
    if (state is None or state.get("feature") != FEATURE or state.get("step") != "confirm"
            or int(state.get("activity", -1)) != pk):
        await query.answer(context.t("leave.ask.stale"), show_alert=True)
        return
    dialog.end(context)
    now, sent = now_and_sent(update, context)
    result = await leave_flow.submit(
        services.db, services.config, _member(context).pk, pk, str(state["reason"]),
        now, context.lang, sent_at=sent,
    )
    await query.answer()
    if result.outcome != "ok":
        await edit(message, _refusal(context, result))
        return
    services.sender.notify()
    assert result.request is not None
    req = result.request
    await edit(message, context.t("leave.ask.sent", id=req.id, title=req.title,
                                   approver=result.approver, reason=req.reason),
                markup([[(context.t("leave.btn.withdraw_one"),
                          callbacks.encode(PREFIX, "wd", req.id))]]))


# -- deciding ----------------------------------------------------------------------------------


def _decided_answer(context: StudyContext, result: DecideResult) -> tuple[str, bool]:
    """The press's answer: a toast for the decision made, an alert when it was not made."""
    req = result.request
    if result.outcome == "ok" and req is not None:
        return context.t(f"leave.decide.done_{req.state}"), False
    if result.outcome == "already" and req is not None:
        outcome = leave_flow.outcome_text(context.lang, context.services.config, req)
        return context.t("leave.decide.already", outcome=outcome), True
    if result.outcome == "attended":
        return context.t("leave.decide.attended"), True
    return context.t("leave.decide.gone"), True


async def _decide_press(
    update: Update, context: StudyContext, message: Message, request_id: int, approve: bool
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    state = dialog.current(context)
    rejecting = (state is not None and state.get("feature") == FEATURE
                 and state.get("step") == "reject" and state.get("request") == request_id)
    if rejecting:
        dialog.end(context)
    result = await leave_flow.decide(
        services.db, services.config, _member(context).pk, request_id, approve, "",
        services.clock.now(), context.lang,
    )
    if result.outcome == "forbidden":
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    text, alert = _decided_answer(context, result)
    await query.answer(text, show_alert=alert)
    if result.outcome == "ok":
        services.sender.notify()
    if not result.text:
        return
    if rejecting and state is not None and state.get("message") != message.message_id:
        # "No reason" was pressed under the question: the question gets the answer, the card
        # the approver pressed Reject on gets the outcome.
        await edit(message, text)
        await _edit_card(context, state, result.text)
        return
    await edit(message, result.text)


async def _reject_press(
    update: Update, context: StudyContext, message: Message, request_id: int
) -> None:
    """Reject: asks for an optional reason (typed, or the "no reason" button)."""
    query = update.callback_query
    assert query is not None
    services = context.services
    checked = await leave_flow.may_decide(services.db, services.config, _member(context).pk,
                                          request_id, context.lang)
    if checked.outcome == "forbidden":
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if checked.outcome != "ok":
        text, _ = _decided_answer(context, checked)
        await query.answer(text, show_alert=True)
        await edit(message, checked.text)
        return
    assert checked.request is not None
    dialog.begin(context, FEATURE, step="reject", request=request_id, chat=message.chat_id,
                 message=message.message_id)
    question = context.t("leave.decide.ask_reason", id=request_id,
                         name=checked.request.member_name,
                         limit=services.config.leave.max_reason_chars)
    keyboard = markup([[(context.t("leave.btn.no_reason"),
                         callbacks.encode(PREFIX, "nr", request_id))]])
    if message.chat.type == "private":
        await query.answer()
        await message.reply_text(question, reply_markup=keyboard)
        return
    # Pressed in the HR chat: the reason is typed in the presser's private chat with the bot
    # (typed input is only read there), and the card in the group is updated afterwards.
    await query.answer(context.t("leave.decide.reason_in_private"), show_alert=True)
    await context.bot.send_message(query.from_user.id, question, reply_markup=keyboard)


async def _after_typed_decision(
    message: Message, context: StudyContext, result: DecideResult, state: dict[str, Any]
) -> None:
    """The rejection reason was typed: answer, and update the card the approver pressed."""
    if result.outcome == "forbidden":
        await message.reply_text(context.t("error.forged"))
        return
    text, _ = _decided_answer(context, result)
    if result.outcome == "ok":
        context.services.sender.notify()
    await message.reply_text(text)
    if result.text:
        await _edit_card(context, state, result.text)


# -- withdrawing -------------------------------------------------------------------------------


async def _withdraw(
    update: Update, context: StudyContext, message: Message, request_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    now, sent = now_and_sent(update, context)
    outcome, req = await leave_flow.withdraw(
        services.db, services.config, _member(context).pk, request_id, now, sent_at=sent
    )
    if outcome == "forbidden" or req is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if outcome == "ok":
        services.sender.notify()
        await query.answer(context.t("leave.withdraw.done"))
        await edit(message, context.t("leave.withdraw.done_text", id=req.id, title=req.title))
        return
    key = "leave.withdraw.too_late" if outcome == "too_late" else "leave.withdraw.already"
    await query.answer(context.t(key, state=leave_flow.state_text(context.lang, req)),
                       show_alert=True)


# -- /leaves -----------------------------------------------------------------------------------


def _own_text(context: StudyContext, requests: list[LeaveRequest]) -> str:
    lines = [context.t("leave.list.own_header")]
    for r in requests:
        lines.append(context.t("leave.list.line", id=r.id, start=_hm(context, r.start_at),
                               title=r.title,
                               state=leave_flow.state_text(context.lang, r)))
        if r.state == "rejected" and r.decision_note:
            lines.append(context.t("leave.list.note", note=r.decision_note))
    return "\n".join(lines)


async def leaves_command(update: Update, context: StudyContext) -> None:
    """/leaves: own requests and their state (withdraw buttons); an approver's pending queue,
    one message per request with its buttons."""
    message = update.effective_message
    assert message is not None
    member = _member(context)
    services = context.services
    now = services.clock.now()
    said = False
    if not member.is_hr:
        own = await leave_flow.own_requests(services.db, member.pk)
        if own:
            rows = [
                [(context.t("leave.btn.withdraw", id=r.id, title=r.title)[:60],
                  callbacks.encode(PREFIX, "wd", r.id))]
                for r in own if rules.may_withdraw(r.state, now, parse_ts(r.start_at))
            ]
            await reply_long(message, _own_text(context, own), reply_markup=markup(rows))
            said = True
    if member.is_hr or member.is_leader:
        cards, total = await leave_flow.queue(services.db, services.config, member,
                                              context.lang, QUEUE_LIMIT)
        if cards or member.is_hr:
            await message.reply_text(context.t("leave.list.queue_header", count=total))
            said = True
        for req, card in cards:
            await reply_long(message, card, reply_markup=_decide_markup(context, req.id))
        if total > len(cards):
            await message.reply_text(context.t("leave.list.more", count=total - len(cards)))
    if not said:
        await message.reply_text(context.t("leave.list.none"))


# -- /excuse -----------------------------------------------------------------------------------


async def excuse_command(update: Update, context: StudyContext) -> None:
    """/excuse <member_id> <activity_id> [reason]: HR records a leave after the fact."""
    message = update.effective_message
    assert message is not None
    member = _member(context)
    services = context.services
    if not member.is_hr:
        await message.reply_text(context.t("leave.excuse.hr_only"))
        return
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t("leave.excuse.usage"))
        return
    reason = " ".join(args[2:]).strip()
    limit = services.config.leave.max_reason_chars
    if rules.check_reason(reason, limit) == "too_long":
        await message.reply_text(context.t("leave.ask.too_long", count=len(reason), limit=limit))
        return
    now, sent = now_and_sent(update, context)
    outcome, req, text = await leave_flow.excuse(
        services.db, services.config, member.pk, args[0].strip(), args[1].strip(), reason,
        now, context.lang, sent_at=sent,
    )
    if outcome in ("ok", "pending") and req is not None:
        if outcome == "pending":
            await message.reply_text(context.t("leave.excuse.pending", id=req.id))
        await reply_long(message, text, reply_markup=_decide_markup(context, req.id))
        return
    if outcome == "approved" and req is not None:
        await message.reply_text(context.t("leave.excuse.approved", id=req.id))
        await reply_long(message, text)
        return
    if outcome == "attended":
        await message.reply_text(context.t("leave.excuse.attended", status=text))
        return
    await message.reply_text(context.t(
        f"leave.excuse.{outcome}", member_id=args[0][:40], activity_id=args[1][:40]
    ))


# -- buttons -----------------------------------------------------------------------------------


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `leave:` button: pick, send, cancel, approve, reject, no reason, withdraw."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    if cb is None or context.member is None or not isinstance(query.message, Message):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    pk = cb.int_arg(0)
    press = BUTTONS.get(cb.action)
    if pk is None or press is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await press(update, context, query.message, pk)


async def _pick(update: Update, context: StudyContext, message: Message, pk: int) -> None:
    """An activity picked from /leave's list."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await _picked(update, message, context, pk)


async def _cancel(update: Update, context: StudyContext, message: Message, pk: int) -> None:
    """Cancel under the confirmation: nothing is sent."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    state = dialog.current(context)
    if state and state.get("feature") == FEATURE:
        dialog.end(context)
    await edit(message, context.t("leave.ask.cancelled"))


async def _approve(update: Update, context: StudyContext, message: Message, pk: int) -> None:
    await _decide_press(update, context, message, pk, approve=True)


async def _no_reason(update: Update, context: StudyContext, message: Message, pk: int) -> None:
    await _decide_press(update, context, message, pk, approve=False)


Press = Callable[[Update, StudyContext, Message, int], Awaitable[None]]
BUTTONS: dict[str, Press] = {
    "pick": _pick, "send": _send, "cx": _cancel, "ok": _approve, "no": _reject_press,
    "nr": _no_reason, "wd": _withdraw,
}


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("leave", leave_command, filters=private))
    app.add_handler(CommandHandler("leaves", leaves_command))
    app.add_handler(CommandHandler("excuse", excuse_command))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
