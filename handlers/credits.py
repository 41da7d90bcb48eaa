"""Credits in chat: /credits (the trainee's year as a chart), /ranking (leader: the group; HR:
everyone), /adjust (HR), /exits (HR decides exit proposals), /heatmap (HR's attendance grid).

Charts are drawn by bot.documents.charts in a worker thread (`asyncio.to_thread`) and sent as
photos; matplotlib is only imported there. Every button is checked against the database: exit
decisions only by HR, whatever the callback data says. What is shown and every change come from
bot.credits.views (one call per command or press); this module parses and renders.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.core.text import MAX_CAPTION, clip
from bot.credits import exit_review
from bot.credits import views as credit_views
from bot.credits.views import num, signed
from bot.documents import charts
from handlers.replies import (
    Rows,
    chat_id,
    chunks,
    edit,
    forged,
    hr_only,
    lookup,
    markup,
    reply,
    reply_long,
    say,
)
from storage.models import Member, Role

PREFIX = "cr"
EXIT = exit_review.PREFIX
EXITS_LISTED = 10
DETAIL_RECENT = 15

# /adjust's optional first argument: the programme year to book into.
YEAR_FLAG = re.compile(r"^(?:--|—|–)year(?:=(\S*))?$")

LEADER_HR: frozenset[Role] = frozenset({"leader", "hr"})
HR: frozenset[Role] = frozenset({"hr"})
EARNERS: frozenset[Role] = frozenset({"trainee", "leader"})
commands.register("credits", roles=EARNERS, order=50)
commands.register("ranking", roles=LEADER_HR, order=51)
commands.register("adjust", roles=HR, order=63)
commands.register("exits", roles=HR, order=64)
commands.register("heatmap", roles=HR, order=65)


def _b(text: str, prefix: str, action: str, *args: object) -> tuple[str, str]:
    return text, callbacks.encode(prefix, action, *args)


def _png(data: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(data)
    buf.name = name
    return buf


async def _photo_action(context: StudyContext, message: Message) -> None:
    await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_PHOTO)


# -- /credits ---------------------------------------------------------------------------------


async def credits_command(update: Update, context: StudyContext) -> None:
    """The member's cumulative credits this year against the line and the group median."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if member.is_hr:
        await message.reply_text(context.t("credits.hr_no_credits"))
        return
    services = context.services
    await _photo_action(context, message)
    progress = await credit_views.progress(services.db, services.config, services.now(), member)
    if progress is None:
        await message.reply_text(context.t("credits.not_ranked"))
        return
    chart = credit_views.progress_chart(context.lang, progress)
    png = await asyncio.to_thread(charts.render_progress, chart, services.config.credits.chart_font)
    caption = clip(credit_views.progress_caption(context.lang, progress), MAX_CAPTION)
    buttons = markup([[_b(context.t("credits.detail_button"), PREFIX, "det")]])
    await message.reply_photo(_png(png, "credits.png"), caption=caption, reply_markup=buttons)


def _rule_name(context: StudyContext, rule: str) -> str:
    try:
        return context.t(f"credits.rule.{rule}")
    except KeyError:
        return rule


async def _details(update: Update, context: StudyContext, member: Member, cb: Callback) -> None:
    """The presser's own ledger this year: sums by rule and the latest entries."""
    query = update.callback_query
    assert query is not None
    if member.is_hr:
        await forged(update, context)
        return
    await query.answer()
    services = context.services
    own = await credit_views.member_ledger(services.db, services.config, services.now(), member)
    year, sums, entries = own.year, own.sums, own.entries
    if not entries:
        lines = [context.t("credits.detail_empty")]
    else:
        lines = [context.t("credits.detail_header", year=year,
                           total=num(sum(e.points for e in entries)))]
        lines += [context.t("credits.detail_rule_line", rule=_rule_name(context, rule),
                            points=num(points), count=count)
                  for rule, points, count in sums if abs(points) > 1e-9 or count > 0]
        recent = entries[-DETAIL_RECENT:]
        lines.append("")
        lines.append(context.t("credits.detail_recent", count=len(recent)))
        lines += [context.t("credits.detail_entry", date=e.on_date[5:], points=signed(e.points),
                            rule=_rule_name(context, e.rule), note=e.note)
                  for e in reversed(recent)]
    await say(context, chat_id(update), "\n".join(lines))


# -- /ranking ---------------------------------------------------------------------------------


async def ranking_command(update: Update, context: StudyContext) -> None:
    """Horizontal bars with the line: a leader's group, or everyone (or one group) for HR."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not (member.is_hr or member.is_leader):
        await message.reply_text(context.t("credits.ranking_refused"))
        return
    services = context.services
    group_id: int | None = None
    scope = context.t("credits.everyone")
    if member.is_leader:
        group_id, scope = member.group_id, member.group_name or ""
    elif context.args:
        wanted = " ".join(context.args).strip()
        groups = {name: gid for gid, name in (await credit_views.groups(services.db)).items()}
        if wanted not in groups:
            await message.reply_text(context.t("credits.ranking_unknown_group", group=clip(wanted)))
            return
        group_id, scope = groups[wanted], wanted
    await _photo_action(context, message)
    board = await credit_views.board(services.db, services.config, services.now())
    standings = board.ordered if group_id is None else board.of_group(group_id)
    if not standings:
        await message.reply_text(context.t("credits.ranking_empty", scope=scope))
        return
    lang = context.lang
    title = context.t("credits.ranking_title", scope=scope, year=board.year.label)
    chart = credit_views.ranking_chart(lang, board, standings, title, member.pk)
    png = await asyncio.to_thread(charts.render_ranking, chart, services.config.credits.chart_font)
    below = [s for s in standings if s.below]
    caption = context.t(
        "credits.ranking_caption", scope=scope, year=board.year.label, count=len(standings),
        line=num(board.line), top_n=board.averaged_over, average=num(board.average),
        ratio=num(board.ratio * 100), below=len(below),
    )
    await message.reply_photo(_png(png, "ranking.png"), caption=clip(caption, MAX_CAPTION))
    lines = credit_views.at_risk_lines(lang, board, standings)
    text = "\n".join([context.t("credits.at_risk_header", line=num(board.line)), *lines]) \
        if lines else context.t("credits.at_risk_none")
    notes = credit_views.member_notes(lang, board, standings)
    await reply_long(message, "\n\n".join([text, "\n".join(notes)]) if notes else text)


# -- /adjust ----------------------------------------------------------------------------------


async def adjust_command(update: Update, context: StudyContext) -> None:
    """/adjust MEMBER_ID POINTS REASON (HR): a hand entry in the ledger, with its reason."""
    member = await hr_only(update, context, "credits.adjust.hr_only")
    if member is None:
        return
    args = list(context.args or [])
    year, year_text = None, None
    if args and YEAR_FLAG.match(args[0]):
        # "--year 2026" or "--year=2026" (a phone may turn "--" into a dash).
        flag = YEAR_FLAG.match(args.pop(0))
        assert flag is not None
        year_text = flag.group(1) or (args.pop(0) if args else "")
        if not re.fullmatch(r"\d{4}", year_text):
            await reply(update, context.t("credits.adjust.bad_year", value=clip(year_text)))
            return
        year = int(year_text)
    if len(args) < 3:
        await reply(update, "\n".join((context.t("credits.adjust.usage"),
                                        context.t("credits.adjust.usage_year"))))
        return
    member_id, points_text, reason = args[0], args[1], " ".join(args[2:]).strip()
    points = credit_views.parse_points(points_text)
    if points is None:
        await reply(update, context.t("credits.adjust.bad_points",
                                      max=num(credit_views.MAX_ADJUST)))
        return
    if len(reason) > credit_views.REASON_MAX:
        await reply(update, context.t("credits.adjust.reason_long",
                                      max=credit_views.REASON_MAX))
        return
    services = context.services
    result = await credit_views.adjust_member(services.db, services.config, member.pk,
                                              member_id, points, reason, services.now(), year)
    target, done = result.target, result.adjusted
    if result.outcome == "forbidden":
        await reply(update, context.t("credits.adjust.hr_only"))
    elif result.outcome == "unknown_member":
        await reply(update, context.t("credits.adjust.unknown_member",
                                      member_id=clip(member_id)))
    elif result.outcome == "not_ranked":
        assert target is not None
        await reply(update, context.t("credits.adjust.not_ranked", name=target.name))
    elif result.outcome in ("year_future", "year_decided"):
        await reply(update, context.t(f"credits.adjust.{result.outcome}", **(result.params or {})))
    else:
        assert target is not None and done is not None
        services.sender.notify()
        await reply(update, context.t(
            "credits.adjust.done", name=target.name, points=signed(points), reason=reason,
            year=done.year, total=num(done.total),
        ))


# -- /exits -----------------------------------------------------------------------------------


def _exit_buttons(context: StudyContext, proposal_id: int) -> Rows:
    return [[
        _b(context.t("credits.exit.btn_confirm"), EXIT, "ask", proposal_id),
        _b(context.t("credits.exit.btn_dismiss"), EXIT, "dis", proposal_id),
    ]]


async def exits_command(update: Update, context: StudyContext) -> None:
    """Open exit proposals, each shown once with Confirm exit / Dismiss (HR): the cards come
    through the outbox, so deciding one anywhere updates every copy."""
    member = await hr_only(update, context, "credits.exit.hr_only")
    if member is None:
        return
    services = context.services
    found = await credit_views.open_exits(services.db, services.config, services.now(),
                                          member.pk, context.lang, EXITS_LISTED)
    services.sender.notify()
    count = len(found.proposals)
    if not count:
        await reply(update, context.t("credits.exit.none"))
        return
    text = context.t("credits.exit.header", count=count)
    if count > EXITS_LISTED:
        text += "\n" + context.t("credits.exit.more", count=count - EXITS_LISTED)
    await reply(update, text)


async def _exit_step(update: Update, context: StudyContext, member: Member, cb: Callback) -> None:
    """Confirm exit asks once more (Yes / Back); Back shows the card with its buttons again."""
    query = update.callback_query
    pid = cb.int_arg()
    assert query is not None and pid is not None and isinstance(query.message, Message)
    found = await credit_views.exit_proposal(context.services.db, pid)
    if found is None:
        await forged(update, context)
        return
    p, person = found
    if p.state != "open":
        await query.answer(context.t(f"credits.exit.already_{p.state}"), show_alert=True)
        return
    await query.answer()
    if cb.action == "ask":
        await edit(query.message, context.t("credits.exit.ask", name=person.name), markup([[
            _b(context.t("credits.exit.btn_yes", name=person.name), EXIT, "do", pid),
            _b(context.t("credits.exit.btn_back"), EXIT, "back", pid),
        ]]))
    else:
        await edit(query.message, exit_review.card(context.lang, p, person),
                   markup(_exit_buttons(context, pid)))


async def _exit_decide(
    update: Update, context: StudyContext, member: Member, cb: Callback
) -> None:
    """Yes, confirm the exit / Dismiss: decided in one transaction, the card updated."""
    query = update.callback_query
    pid = cb.int_arg()
    assert query is not None and pid is not None and isinstance(query.message, Message)
    services = context.services
    try:
        decided = await credit_views.decide_exit(services.db, services.config, member.pk, pid,
                                                 cb.action == "do", services.now(), context.lang)
    except exit_review.ExitError as exc:
        await query.answer(context.t(exc.key), show_alert=True)
        return
    services.sender.notify()
    await query.answer(context.t(decided.answer_key))
    await edit(query.message, decided.text)


Press = Callable[[Update, StudyContext, Member, Callback], Awaitable[None]]
EXIT_PRESSES: dict[str, Press] = {
    "ask": _exit_step, "back": _exit_step, "do": _exit_decide, "dis": _exit_decide,
}


async def on_exit_button(update: Update, context: StudyContext) -> None:
    """Confirm (asks once more) / dismiss an exit proposal; HR only, checked in the database."""
    query = update.callback_query
    assert query is not None
    found = await lookup(update, context, EXIT_PRESSES, allowed=lambda m: m.is_hr)
    if found is None:
        return
    cb, member, press = found
    if cb.int_arg() is None or not isinstance(query.message, Message):
        await forged(update, context)
        return
    await press(update, context, member, cb)


# -- /heatmap ---------------------------------------------------------------------------------


async def heatmap_command(update: Update, context: StudyContext) -> None:
    """HR picks a group (or everyone) for the attendance heatmap; `/heatmap 第一组` directly."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("credits.heatmap.hr_only"))
        return
    groups = await credit_views.groups(context.services.db)
    if context.args:
        wanted = " ".join(context.args).strip()
        gid = next((g for g, name in groups.items() if name == wanted), None)
        if gid is None:
            await message.reply_text(context.t("credits.ranking_unknown_group", group=clip(wanted)))
            return
        await _send_heatmap(context, message, member, gid, wanted)
        return
    buttons = [_b(name, PREFIX, "hm", gid) for gid, name in groups.items()]
    buttons.append(_b(context.t("credits.heatmap.all_button"), PREFIX, "hm", "all"))
    await message.reply_text(context.t("credits.heatmap.choose"),
                             reply_markup=markup(chunks(buttons, 3)))


async def _send_heatmap(
    context: StudyContext, message: Message, member: Member, group_id: int | None, scope: str,
) -> bool:
    """Sends the heatmap photo; False (and nothing sent) when too many members for one chart."""
    services = context.services
    chart = await credit_views.heatmap(services.db, services.config, services.now(), member,
                                       group_id, context.lang)
    if chart is None:
        return False
    if not chart.activities:
        await message.reply_text(context.t("credits.heatmap.empty", scope=scope))
        return True
    await _photo_action(context, message)
    png = await asyncio.to_thread(charts.render_heatmap, chart, services.config.credits.chart_font)
    year = credit_views.year_label(services.config, services.now())
    caption = context.t("credits.heatmap.caption", scope=scope, year=year,
                        count=len(chart.activities))
    await message.reply_photo(_png(png, "heatmap.png"), caption=clip(caption, MAX_CAPTION))
    return True


async def _heatmap_scope(
    update: Update, context: StudyContext, member: Member, cb: Callback
) -> None:
    """HR's choice of scope on /heatmap: a group, or everyone."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if not member.is_hr or not isinstance(message, Message) or not cb.args:
        await forged(update, context)
        return
    groups = await credit_views.groups(context.services.db)
    gid = None if cb.args[0] == "all" else cb.int_arg()
    if gid is not None and gid not in groups:
        await forged(update, context)
        return
    scope = groups[gid] if gid is not None else context.t("credits.everyone")
    await query.answer()
    if not await _send_heatmap(context, message, member, gid, scope):
        await message.reply_text(context.t("credits.heatmap.too_many"))


PRESSES: dict[str, Press] = {"det": _details, "hm": _heatmap_scope}


async def on_button(update: Update, context: StudyContext) -> None:
    """The credits buttons: ledger details (own), heatmap scope (HR)."""
    found = await lookup(update, context, PRESSES)
    if found is not None:
        cb, member, press = found
        await press(update, context, member, cb)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("credits", credits_command))
    app.add_handler(CommandHandler("ranking", ranking_command))
    app.add_handler(CommandHandler("adjust", adjust_command))
    app.add_handler(CommandHandler("exits", exits_command))
    app.add_handler(CommandHandler("heatmap", heatmap_command))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
    app.add_handler(CallbackQueryHandler(on_exit_button, pattern=callbacks.pattern(EXIT)))
