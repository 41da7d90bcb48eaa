"""What the report dialogs show, as text and button rows of (text, callback data): the host's
list, the draft's introduction, the questions' and the preview's buttons, the answer after
submitting, HR's and a leader's overview, the hand-over lists.

Pure: no Telegram and no database; handlers/reports.py turns the rows into a keyboard. The
callback data carries ids only (who may press is checked in bot.reports.flow).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.activities.scheduling import activity_card, local
from bot.core import callbacks
from bot.core.i18n import t
from bot.reports.flow import HostList, Listed, Submitted, attendance_lines
from bot.reports.rules import STATES, Attendance, State, deadline_words
from storage.activities import Activity
from storage.models import Member

PREFIX = "rep"
LIST_LIMIT = 12
OPEN_BUTTONS = 20
LABEL_MAX = 60  # characters of a button label

Rows = list[list[tuple[str, str]]]


def cb(action: str, *args: object) -> str:
    return callbacks.encode(PREFIX, action, *args)


def _day(text_ts: str, tz: dt.tzinfo) -> str:
    return f"{local(text_ts, tz):%m-%d}"


def host_list(lang: str, tz: dt.tzinfo, found: HostList) -> tuple[str, Rows]:
    """/report: the activities to report on (Amend for a submitted one still amendable), or
    the one the member hosts that is still running (when its report opens), or the next one
    they host, or nothing."""
    if not found.listed:
        if found.upcoming is None or found.upcoming_due is None:
            return t(lang, "reports.list.nothing"), []
        if found.running:
            return t(lang, "reports.list.running", title=found.upcoming.title,
                     ends=local(found.upcoming.end_at, tz).strftime("%H:%M"),
                     deadline=deadline_words(lang, found.upcoming_due)), []
        return t(lang, "reports.list.nothing_next", card=activity_card(lang, found.upcoming, tz),
                 deadline=deadline_words(lang, found.upcoming_due)), []
    rows: Rows = []
    for entry in found.listed[:LIST_LIMIT]:
        item = entry.item
        submitted = item.report is not None and item.report.submitted
        key = "reports.list.item_amend" if submitted else "reports.list.item"
        label = t(lang, key, date=_day(item.start_at, tz), title=item.title,
                  deadline=deadline_words(lang, entry.due))
        rows.append([(label[:LABEL_MAX], cb("pick", item.activity_pk))])
    return t(lang, "reports.list.pick"), rows


def intro(lang: str, activity: Activity, due: dt.datetime, att: Attendance,
          now: dt.datetime) -> str:
    """The draft begins: the deadline (late already?) and the roll call."""
    text = t(lang, "reports.intro.draft", title=activity.title,
             deadline=deadline_words(lang, due),
             attendance="\n".join(attendance_lines(lang, att)))
    if now > due:
        text += "\n\n" + t(lang, "reports.intro.late", deadline=deadline_words(lang, due))
    return text


def question(lang: str, step: str, report_pk: int, came: int = 0) -> tuple[str, Rows]:
    """A question of the filing dialog and its buttons (`came`: the roll call's headcount)."""
    if step == "recommend":
        return t(lang, "reports.ask.recommend"), [[
            (t(lang, "reports.rec.yes"), cb("rec", report_pk)),
            (t(lang, "reports.rec.no"), cb("norec", report_pk)),
        ]]
    if step == "headcount":
        return t(lang, "reports.ask.headcount", came=came), [[
            (t(lang, "reports.ask.headcount_button", came=came), cb("hc", report_pk, came)),
        ]]
    return t(lang, f"reports.ask.{step}"), []


def member_rows(report_pk: int, choices: Sequence[Member]) -> Rows:
    """Whose work is recommended: one button per member."""
    return [[(m.name, cb("recm", report_pk, m.pk))] for m in choices]


def photo_rows(lang: str, report_pk: int) -> Rows:
    return [[(t(lang, "reports.photos.done_button"), cb("done", report_pk))]]


def preview_rows(lang: str, report_pk: int, *, amend: bool) -> Rows:
    """Submit (the amendment) and one edit button per answer."""
    r = report_pk
    submit_key = "reports.preview.submit_amend" if amend else "reports.preview.submit"
    return [
        [(t(lang, submit_key), cb("suba" if amend else "sub", r))],
        [(t(lang, "reports.preview.edit_studied"), cb("ed", r, "st")),
         (t(lang, "reports.preview.edit_highlights"), cb("ed", r, "hl"))],
        [(t(lang, "reports.preview.edit_photos"), cb("ed", r, "ph")),
         (t(lang, "reports.preview.edit_rec"), cb("ed", r, "rc"))],
        [(t(lang, "reports.preview.edit_headcount"), cb("ed", r, "hc"))],
    ]


def refusal(lang: str, result: Submitted) -> str:
    """Why a submission or an amendment was refused (the answers still missing)."""
    missing = t(lang, "reports.text.name_sep").join(
        t(lang, f"reports.field.{m}") for m in result.missing)
    return t(lang, f"reports.refused.{result.refusal}", missing=missing)


def submitted(lang: str, result: Submitted, *, amending: bool,
              now: dt.datetime) -> tuple[str, Rows]:
    """The answer to the host once the report (or the amendment) went to HR: on time or late,
    the headcount difference, Amend while the deadline has not passed."""
    assert result.due is not None and result.report is not None
    deadline = deadline_words(lang, result.due)
    if amending:
        text = t(lang, "reports.submitted.amended", deadline=deadline)
    else:
        text = t(lang, "reports.submitted.late" if result.late else "reports.submitted.ok",
                 deadline=deadline)
    if result.difference is not None:
        text += "\n" + t(lang, "reports.submitted.mismatch", diff=f"{result.difference:+d}")
    rows: Rows = []
    if not result.late and now <= result.due:
        rows = [[(t(lang, "reports.submitted.amend_button"), cb("amend", result.report.pk))]]
    return text, rows


def overview(lang: str, tz: dt.tzinfo, viewer: Member,
             groups: dict[State, list[Listed]]) -> tuple[str, Rows]:
    """/reports: the reports by state, with an Open button per submitted one."""
    header = t(lang, "reports.overview.header") if viewer.is_hr else t(
        lang, "reports.overview.header_group", group=viewer.group_name or "")
    lines = [header]
    buttons: Rows = []
    if not any(groups.values()):
        lines.append(t(lang, "reports.overview.empty"))
    for state in STATES:
        if groups[state]:
            lines.extend(_section(lang, tz, state, groups[state], buttons))
    if buttons:
        lines.append("")
        lines.append(t(lang, "reports.overview.open_hint"))
    return "\n".join(lines), buttons


def _section(lang: str, tz: dt.tzinfo, state: State, items: list[Listed],
             buttons: Rows) -> list[str]:
    """One state's lines; a submitted report's Open button goes to `buttons` (up to
    OPEN_BUTTONS in all)."""
    lines = ["", t(lang, "reports.overview.section", count=len(items),
                   label=t(lang, f"reports.overview.state.{state}"))]
    key = "reports.overview.line" if state in ("on_time", "late") else (
        "reports.overview.line_due")
    for entry in items[:LIST_LIMIT]:
        item = entry.item
        lines.append(t(lang, key, date=_day(item.start_at, tz), title=item.title,
                       group=item.group_name or "", host=item.host_name,
                       deadline=deadline_words(lang, entry.due)))
        if item.report is not None and item.report.submitted and len(buttons) < OPEN_BUTTONS:
            label = t(lang, "reports.overview.open_button", date=_day(item.start_at, tz),
                      title=item.title, host=item.host_name)
            buttons.append([(label[:LABEL_MAX], cb("open", item.report.pk))])
    if len(items) > LIST_LIMIT:
        lines.append(t(lang, "reports.overview.more", count=len(items) - LIST_LIMIT))
    return lines


def handover_rows(lang: str, tz: dt.tzinfo, upcoming: Sequence[Activity]) -> Rows:
    """/handover: one button per upcoming activity of the group, with its host."""
    return [
        [(t(lang, "reports.handover.item", date=f"{local(a.start_at, tz):%m-%d %H:%M}",
            title=a.title, host=a.host_name or t(lang, "attendance.none"))[:LABEL_MAX],
          cb("ho", a.pk))]
        for a in upcoming
    ]


def handover_pick(lang: str, activity: Activity, candidates: Sequence[Member]
                  ) -> tuple[str, Rows]:
    """Who should host the activity instead: one button per member."""
    text = t(lang, "reports.handover.pick_member", title=activity.title,
             host=activity.host_name or t(lang, "attendance.none"))
    return text, [[(m.name, cb("hom", activity.pk, m.pk))] for m in candidates]
