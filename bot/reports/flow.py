"""Activity reports applied to the database: drafts, submission and amendment with HR's copy,
hand-over of the hosting, the reminder and escalation check, and the overviews.

The rules (deadline, reminders, headcount) are in bot.reports.rules; this module applies them, and
every change goes in one transaction together with the notifications it causes (outbox rows).
Files (photos, documents) are downloaded outside any transaction (receive_photo,
fetch_document); a photo whose row was not saved is removed here, a document the handler could
not keep with the answers is removed by the handler. What the dialogs show is bot.reports.views.

Submitting and amending are judged against the deadline at `sent_at`, when the host pressed
(bot.delivery.inbox.sent_at; never after `now`), which is also the time the report records;
HR's copy is queued at `now`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

from bot.activities.scheduling import activity_card, can_manage
from bot.core.clock import as_sent
from bot.core.config import Config
from bot.core.i18n import lang_of, t
from bot.core.text import MAX_CAPTION, clip, split_message
from bot.delivery import notify
from bot.documents import uploads as files
from bot.reports.rules import (
    MAX_PHOTOS,
    STATUSES,
    Attendance,
    Rules,
    State,
    attendance_of,
    calendar_of,
    can_amend,
    deadline_words,
    document_suffix,
    due_at,
    headcount_difference,
    is_late,
    reminder_due,
    state_of,
)
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import audit
from storage import members as members_repo
from storage import reports as reports_repo
from storage.activities import Activity
from storage.db import Database, parse_ts, ts
from storage.models import Member
from storage.reports import Report, Reportable

if TYPE_CHECKING:
    from telegram import Bot

    from bot.core.services import Services

log = logging.getLogger(__name__)

# How far back the reminder check looks for activities whose report is missing: longer than
# any run of holidays between an activity and its deadline.
REMINDER_LOOKBACK = dt.timedelta(days=31)
# How far back /report offers activities awaiting a report, and /reports lists them.
OFFER_LOOKBACK = dt.timedelta(days=120)


def rules(cfg: Config) -> Rules:
    return Rules.of(cfg.reports)


def deadline(cfg: Config, end_at: str) -> dt.datetime:
    """The report deadline (local time) of an activity ending at the stored time `end_at`."""
    return due_at(parse_ts(end_at), calendar_of(cfg.calendar), rules(cfg), cfg.tz)


def deadline_of(cfg: Config, item: Reportable) -> dt.datetime:
    """A submitted report keeps the deadline it was filed against; otherwise it is computed."""
    if item.report is not None and item.report.due_at:
        return parse_ts(item.report.due_at).astimezone(cfg.tz)
    return deadline(cfg, item.end_at)


def classify(cfg: Config, item: Reportable, now: dt.datetime) -> State:
    report = item.report
    submitted = (
        parse_ts(report.submitted_at) if report is not None and report.submitted_at else None
    )
    late = bool(report and report.late)
    return state_of(submitted, late, deadline_of(cfg, item), now)


def needs_report(item: Reportable) -> bool:
    """Activities recorded after they ended (an imported past schedule) get no reminders."""
    return item.created_at < item.end_at


# -- the report's content -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Content:
    """What the host has given: a draft's saved answers, or a submitted report with the
    amendment being made on top."""

    studied: str | None = None
    highlights: str | None = None
    recommended_member_pk: int | None = None
    recommended_title: str | None = None
    recommended_text: str | None = None
    recommended_file: str | None = None
    recommended_file_name: str | None = None
    stated_headcount: int | None = None
    photos: int = 0

    @property
    def has_recommendation(self) -> bool:
        return self.recommended_member_pk is not None

    def missing(self) -> list[str]:
        """The answers still needed before the report can be submitted."""
        out = []
        if not self.studied:
            out.append("studied")
        if not self.highlights:
            out.append("highlights")
        if self.photos < 1:
            out.append("photos")
        if self.stated_headcount is None:
            out.append("headcount")
        if self.has_recommendation and not (
            self.recommended_title and (self.recommended_text or self.recommended_file)
        ):
            out.append("recommended")
        return out

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in reports_repo.FIELDS}

    def next_question(self, rec_decided: bool) -> str | None:
        """The filing dialog's next question (a step), or None when everything is there."""
        missing = self.missing()
        for step in ("studied", "highlights", "photos"):
            if step in missing:
                return step
        if not rec_decided and not self.has_recommendation:
            return "recommend"
        return "headcount" if "headcount" in missing else None


def recommendation(
    member_pk: int | None, title: str | None, *, text: str | None = None,
    file: str | None = None, file_name: str | None = None,
) -> dict[str, Any]:
    """The answers that make (or, all None, clear) a recommended work: whose, its title, and
    its text or document."""
    return {
        "recommended_member_pk": member_pk, "recommended_title": title,
        "recommended_text": text, "recommended_file": file, "recommended_file_name": file_name,
    }


def content_of(report: Report, photos: int, overrides: Mapping[str, Any] | None = None) -> Content:
    base = Content(**{name: getattr(report, name) for name in reports_repo.FIELDS},
                   photos=photos)
    values = {k: v for k, v in (overrides or {}).items() if k in reports_repo.FIELDS}
    return replace(base, **values)


async def roll_attendance(conn: aiosqlite.Connection, activity: Activity) -> Attendance:
    """The roll call now: every participant's status (no record yet counts as absent)."""
    people = {m.pk: m for m in await activities_repo.participants(conn, activity)}
    roll = await attendance_repo.roll(conn, activity.pk)
    for pk in roll:
        if pk not in people:  # left the group since; keeps their record
            member = await members_repo.by_pk(conn, pk)
            if member is not None:
                people[pk] = member
    ordered = sorted(people.values(), key=lambda m: m.member_id)
    return attendance_of(
        (m.name, roll[m.pk].status if m.pk in roll else None) for m in ordered
    )


def stored_attendance(report: Report, live: Attendance) -> Attendance:
    """The counts HR was given (the roll call at submission), with the live names."""
    if report.roll is None:
        return live
    return Attendance(dict(report.roll), live.names)


# -- rendering ------------------------------------------------------------------------------


def attendance_lines(lang: str, att: Attendance) -> list[str]:
    counts = " · ".join(
        t(lang, "reports.text.count", status=t(lang, f"attendance.status.{s}"),
          count=att.counts.get(s, 0))
        for s in STATUSES
    )
    lines = [t(lang, "reports.text.roll", counts=counts, came=att.headcount)]
    sep = t(lang, "reports.text.name_sep")
    for status, names in att.names.items():
        if names:
            lines.append(t(lang, "reports.text.names",
                           status=t(lang, f"attendance.status.{status}"), names=sep.join(names)))
    return lines


@dataclass(frozen=True, slots=True)
class Rendered:
    """Everything a report message needs besides the content."""

    activity: Activity
    host_name: str
    due: dt.datetime
    attendance: Attendance
    recommended_name: str | None = None
    submitted_at: dt.datetime | None = None
    late: bool = False
    amended_at: dt.datetime | None = None


def render(lang: str, cfg: Config, header: str, info: Rendered, content: Content) -> str:
    """The report as HR reads it (also the host's preview and what /reports opens)."""
    tz = cfg.tz
    none = t(lang, "attendance.none")
    lines = [header, "", activity_card(lang, info.activity, tz)]
    lines.append(t(lang, "reports.text.due", deadline=deadline_words(lang, info.due)))
    if info.submitted_at is not None:
        verdict = t(lang, "reports.text.late" if info.late else "reports.text.on_time")
        lines.append(t(lang, "reports.text.submitted",
                       at=info.submitted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                       verdict=verdict))
    if info.amended_at is not None:
        lines.append(t(lang, "reports.text.amended",
                       at=info.amended_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")))
    lines.append("")
    lines.extend(attendance_lines(lang, info.attendance))
    if content.stated_headcount is not None:
        lines.append(t(lang, "reports.text.stated", count=content.stated_headcount))
        diff = headcount_difference(content.stated_headcount, info.attendance.counts)
        if diff is not None:
            lines.append(t(lang, "reports.text.mismatch", stated=content.stated_headcount,
                           roll=info.attendance.headcount, diff=f"{diff:+d}"))
    lines.append("")
    lines.append(t(lang, "reports.text.studied", text=content.studied or none))
    lines.append("")
    lines.append(t(lang, "reports.text.highlights", text=content.highlights or none))
    if content.has_recommendation:
        lines.append("")
        lines.append(t(lang, "reports.text.recommended", name=info.recommended_name or none,
                       title=content.recommended_title or none))
        if content.recommended_text:
            lines.append(content.recommended_text)
        elif content.recommended_file:
            lines.append(t(lang, "reports.text.attachment",
                           name=content.recommended_file_name or Path(
                               content.recommended_file).name))
    lines.append("")
    lines.append(t(lang, "reports.text.photos", count=content.photos))
    return "\n".join(lines)


async def rendered_info(
    conn: aiosqlite.Connection, cfg: Config, activity: Activity, report: Report,
    content: Content, *, live: bool,
) -> Rendered:
    """The facts a report message shows; `live` uses today's roll call (a draft or an
    amendment), otherwise the counts stored at submission."""
    host = await members_repo.by_pk(conn, report.host_pk)
    att = await roll_attendance(conn, activity)
    if not live:
        att = stored_attendance(report, att)
    rec_name = None
    if content.recommended_member_pk is not None:
        rec = await members_repo.by_pk(conn, content.recommended_member_pk)
        rec_name = rec.name if rec else None
    due = (
        parse_ts(report.due_at).astimezone(cfg.tz) if report.due_at
        else deadline(cfg, activity.end_at)
    )
    return Rendered(
        activity=activity, host_name=host.name if host else "", due=due, attendance=att,
        recommended_name=rec_name,
        submitted_at=parse_ts(report.submitted_at) if report.submitted_at else None,
        late=report.late,
        amended_at=parse_ts(report.amended_at) if report.amended_at else None,
    )


# -- HR's copy ------------------------------------------------------------------------------


async def _queue_report(
    conn: aiosqlite.Connection, cfg: Config, recipients: Sequence[notify.Recipient], *, kind: str,
    header_key: str, info: Rendered, content: Content, photo_paths: Sequence[Path] | None,
    document: Path | None, now: str,
) -> int:
    """One formatted message (split under 4096), the photos as an album, the document."""
    queued = 0
    for r in recipients:
        header = t(r.lang, header_key, title=info.activity.title, host=info.host_name)
        text = render(r.lang, cfg, header, info, content)
        payloads: list[dict[str, Any]] = [{"text": part} for part in split_message(text)]
        if photo_paths:
            caption = clip(t(r.lang, "reports.hr.album", title=info.activity.title,
                              host=info.host_name, count=len(photo_paths)), MAX_CAPTION)
            paths = [str(p) for p in photo_paths]
            payloads.append(
                {"photos": paths, "text": caption} if len(paths) > 1
                else {"photo": paths[0], "text": caption}
            )
        if document is not None:
            caption = clip(t(r.lang, "reports.hr.document", title=content.recommended_title
                              or "", name=info.recommended_name or ""), MAX_CAPTION)
            payloads.append({"document": str(document), "filename":
                             content.recommended_file_name or document.name, "text": caption})
        for payload in payloads:
            row = await notify.enqueue(
                conn, chat_id=r.chat_id, member_pk=r.member_pk, kind=kind, payload=payload,
                now=now,
            )
            queued += row is not None
    return queued


def files_path(cfg: Config, rel: str) -> Path:
    return cfg.files_dir / rel


# -- drafts ---------------------------------------------------------------------------------

Refusal = Literal[
    "not_found", "not_host", "not_ended", "submitted", "not_submitted", "deadline_passed",
    "incomplete", "cancelled",
]


@dataclass(frozen=True, slots=True)
class Opened:
    """A report opened by its host: the activity, the report (a draft is created) and its
    deadline; `refusal` says why not."""

    refusal: Refusal | None
    activity: Activity | None = None
    report: Report | None = None
    due: dt.datetime | None = None


def _host_refusal(member: Member, activity: Activity | None, now: dt.datetime) -> Refusal | None:
    if activity is None or activity.type != "group_study":
        return "not_found"
    if activity.status != "scheduled":
        return "cancelled"
    if activity.host_pk != member.pk:
        return "not_host"
    if parse_ts(activity.end_at) > now:
        return "not_ended"
    return None


async def open_draft(
    db: Database, cfg: Config, member: Member, activity_pk: int, now: dt.datetime
) -> Opened:
    """The host's report of an activity that has ended: the draft (created when missing), or
    the submitted report (to amend)."""
    async with db.tx() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
        refusal = _host_refusal(member, activity, now)
        if refusal is not None or activity is None:
            return Opened(refusal, activity)
        existing = await reports_repo.for_activity(conn, activity.pk)
        if existing is not None and existing.submitted:
            report = existing
        else:
            report = await reports_repo.ensure_draft(conn, activity.pk, member.pk, ts(now))
    due = (
        parse_ts(report.due_at).astimezone(cfg.tz) if report.due_at
        else deadline(cfg, activity.end_at)
    )
    return Opened(None, activity, report, due)


async def load_own(
    db: Database, member: Member, report_pk: int
) -> tuple[Activity, Report] | None:
    """A report of the member's (as the activity's host), or None."""
    async with db.read() as conn:
        report = await reports_repo.get(conn, report_pk)
        activity = await activities_repo.by_pk(conn, report.activity_pk) if report else None
    if (
        report is None or activity is None or activity.host_pk != member.pk
        or report.host_pk != member.pk or activity.status != "scheduled"
    ):
        return None
    return activity, report


async def save_fields(
    db: Database, cfg: Config, report_pk: int, values: Mapping[str, Any], now: dt.datetime
) -> bool:
    """Saves answers to a draft; False when the report is no longer a draft. A recommended
    work's document that the answers replace is removed."""
    async with db.tx() as conn:
        report = await reports_repo.get(conn, report_pk)
        if report is None or report.submitted:
            return False
        await reports_repo.set_fields(conn, report_pk, ts(now), values)
    _drop_replaced_document(cfg, report, values)
    return True


def _drop_replaced_document(cfg: Config, report: Report, values: Mapping[str, Any]) -> None:
    old = report.recommended_file
    if old and "recommended_file" in values and values["recommended_file"] != old:
        remove_files(cfg, [old])


async def photo_count(db: Database, report_pk: int, *, staged: bool) -> int:
    async with db.read() as conn:
        return await reports_repo.photo_count(conn, report_pk, staged=staged)


async def has_photo(db: Database, report_pk: int, unique_id: str, *, staged: bool) -> bool:
    async with db.read() as conn:
        return await reports_repo.has_photo(conn, report_pk, unique_id, staged=staged)


async def add_photo(
    db: Database, report_pk: int, *, rel_path: str, file_id: str, unique_id: str,
    file_size: int | None, media_group_id: str | None, staged: bool, now: dt.datetime,
) -> int | None:
    """Appends a downloaded photo; the new count, or None (full, already there)."""
    async with db.tx() as conn:
        return await reports_repo.add_photo(
            conn, report_pk, file_path=rel_path, file_id=file_id, file_unique_id=unique_id,
            file_size=file_size, media_group_id=media_group_id, staged=staged,
            limit=MAX_PHOTOS, now=ts(now),
        )


async def clear_photos(db: Database, cfg: Config, report_pk: int, *, staged: bool) -> int:
    """Drops a draft's photos (or an amendment's staged ones) and their files."""
    async with db.tx() as conn:
        report = await reports_repo.get(conn, report_pk)
        if report is None or (report.submitted and not staged):
            return 0
        gone = await reports_repo.clear_photos(conn, report_pk, staged=staged)
    remove_files(cfg, gone)
    return len(gone)


def remove_files(cfg: Config, rel_paths: Sequence[str]) -> None:
    for rel in rel_paths:
        files_path(cfg, rel).unlink(missing_ok=True)


async def preview(
    db: Database, cfg: Config, lang: str, activity: Activity, report_pk: int,
    overrides: Mapping[str, Any] | None, *, staged: bool,
) -> tuple[str, Content] | None:
    """The preview text of a draft or of an amendment, and its content."""
    async with db.read() as conn:
        report = await reports_repo.get(conn, report_pk)
        if report is None:
            return None
        count = await reports_repo.photo_count(conn, report_pk, staged=staged)
        content = content_of(report, count, overrides)
        info = await rendered_info(conn, cfg, activity, report, content, live=True)
    key = "reports.preview.header_amend" if report.submitted else "reports.preview.header"
    header = t(lang, key, title=activity.title)
    return render(lang, cfg, header, info, content), content


async def attendance_now(db: Database, activity: Activity) -> Attendance:
    async with db.read() as conn:
        return await roll_attendance(conn, activity)


async def working_preview(
    db: Database, cfg: Config, lang: str, member: Member, report_pk: int,
    overrides: Mapping[str, Any] | None, *, staged: bool,
) -> tuple[str, Content] | None:
    """The preview of the report `member` is filling (a draft, or an amendment given by
    `overrides`), or None when it is no longer theirs to fill."""
    own = await load_own(db, member, report_pk)
    if own is None:
        return None
    activity, _ = own
    return await preview(db, cfg, lang, activity, report_pk, overrides, staged=staged)


async def headcount_now(db: Database, activity_pk: int) -> int:
    """How many came to the activity by today's roll call (the headcount step's default)."""
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
        assert activity is not None
        return (await roll_attendance(conn, activity)).headcount


async def report_folder(db: Database, activity_pk: int) -> Path | None:
    """Where the activity's report files go, under files_dir; None when it is gone."""
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
    return None if activity is None else Path("reports") / activity.activity_id


PhotoRefusal = Literal["duplicate", "full", "gone"]


@dataclass(frozen=True, slots=True)
class PhotoRoom:
    """Whether one more photo may be downloaded for the report, and the folder it goes to."""

    refusal: PhotoRefusal | None
    folder: Path | None = None


async def photo_room(
    db: Database, report_pk: int, activity_pk: int, unique_id: str, *, staged: bool
) -> PhotoRoom:
    """Checked before a photo is downloaded: not there yet, room left, the activity exists.
    (add_photo checks the limit again in its transaction.)"""
    async with db.read() as conn:
        if await reports_repo.has_photo(conn, report_pk, unique_id, staged=staged):
            return PhotoRoom("duplicate")
        if await reports_repo.photo_count(conn, report_pk, staged=staged) >= MAX_PHOTOS:
            return PhotoRoom("full")
    folder = await report_folder(db, activity_pk)
    return PhotoRoom("gone") if folder is None else PhotoRoom(None, folder)


PhotoOutcome = Literal["added", "duplicate", "full", "gone", "too_big", "failed"]


@dataclass(frozen=True, slots=True)
class PhotoAdded:
    """What became of one photo sent for a report; `count` is the report's photos so far."""

    outcome: PhotoOutcome
    count: int = 0


async def receive_photo(
    db: Database, cfg: Config, bot: Bot, report_pk: int, activity_pk: int, *, file_id: str,
    unique_id: str, file_size: int | None, media_group_id: str | None, staged: bool,
    now: dt.datetime,
) -> PhotoAdded:
    """One photo for a draft (or, staged, for an amendment): checked, downloaded outside any
    transaction, then appended; a downloaded file whose row was not saved is removed."""
    if files.too_big(file_size):
        return PhotoAdded("too_big")
    room = await photo_room(db, report_pk, activity_pk, unique_id, staged=staged)
    if room.refusal is not None or room.folder is None:
        return PhotoAdded(room.refusal or "gone")
    stored = await files.download(bot, file_id, cfg.files_dir,
                                  files.stored_path(room.folder, ".jpg"))
    if isinstance(stored, str):
        return PhotoAdded("too_big" if stored == "too_big" else "failed")
    count = await add_photo(
        db, report_pk, rel_path=stored.rel.as_posix(), file_id=file_id, unique_id=unique_id,
        file_size=file_size, media_group_id=media_group_id, staged=staged, now=now,
    )
    if count is None:
        stored.remove()
        return PhotoAdded("full")
    return PhotoAdded("added", count)


DocumentOutcome = Literal["ok", "bad_document", "doc_too_big", "doc_failed", "gone"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """The recommended work's document, downloaded (`stored`, shown as `name`), or why not."""

    outcome: DocumentOutcome
    stored: files.Stored | None = None
    name: str = ""


async def fetch_document(
    db: Database, cfg: Config, bot: Bot, activity_pk: int, *, file_id: str,
    file_name: str | None, file_size: int | None,
) -> Fetched:
    """Downloads a recommended work into the activity's folder (an allowed kind, not too
    big); the caller saves it with the answers, or removes it."""
    suffix = document_suffix(file_name)
    if suffix is None:
        return Fetched("bad_document")
    if files.too_big(file_size):
        return Fetched("doc_too_big")
    folder = await report_folder(db, activity_pk)
    if folder is None:
        return Fetched("gone")
    stored = await files.download(bot, file_id, cfg.files_dir,
                                  files.stored_path(folder, suffix, prefix="work-"))
    if isinstance(stored, str):
        return Fetched("doc_too_big" if stored == "too_big" else "doc_failed")
    return Fetched("ok", stored, files.display_name(file_name, suffix))


async def recommend_choices(db: Database, host: Member, activity: Activity) -> list[Member]:
    """Whom the host may recommend a work of: the group members who could host, and the host,
    by member id."""
    people = await handover_candidates(db, activity)
    choices = people if any(p.pk == host.pk for p in people) else [host, *people]
    return sorted(choices, key=lambda m: m.member_id)


# -- submitting and amending ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    refusal: Refusal | None
    report: Report | None = None
    due: dt.datetime | None = None
    late: bool = False
    difference: int | None = None
    missing: list[str] = field(default_factory=list)


async def submit(
    db: Database, cfg: Config, member: Member, report_pk: int, now: dt.datetime,
    *, sent_at: dt.datetime | None = None,
) -> Submitted:
    """Submits a draft, on time or late as of `sent_at` (None: `now`), and queues HR's copy,
    in one transaction."""
    at = ts(now)
    sent = as_sent(sent_at, now)
    async with db.tx() as conn:
        report = await reports_repo.get(conn, report_pk)
        activity = await activities_repo.by_pk(conn, report.activity_pk) if report else None
        refusal = _host_refusal(member, activity, now)
        if report is None or activity is None:
            return Submitted("not_found")
        if refusal is not None:
            return Submitted(refusal)
        if report.submitted:
            return Submitted("submitted", report)
        photos = await reports_repo.photos(conn, report.pk)
        content = content_of(report, len(photos))
        missing = content.missing()
        if missing:
            return Submitted("incomplete", report, missing=missing)
        due = deadline(cfg, activity.end_at)
        late = is_late(sent, due)
        att = await roll_attendance(conn, activity)
        await reports_repo.submit(conn, report.pk, now=ts(sent), due_at=ts(due), late=late,
                                  roll=att.counts)
        report = await reports_repo.get(conn, report.pk)
        assert report is not None
        info = await rendered_info(conn, cfg, activity, report, content, live=False)
        await _queue_report(
            conn, cfg, await notify.hr_recipients(conn, cfg), kind="reports.submitted",
            header_key="reports.hr.header_late" if late else "reports.hr.header",
            info=info, content=content,
            photo_paths=[files_path(cfg, p.file_path) for p in photos],
            document=files_path(cfg, content.recommended_file)
            if content.recommended_file else None,
            now=at,
        )
    return Submitted(None, report, due, late,
                     headcount_difference(content.stated_headcount, att.counts))


async def _amendable(
    conn: aiosqlite.Connection, cfg: Config, member: Member, report_pk: int, sent: dt.datetime
) -> Submitted | tuple[Report, Activity, dt.datetime]:
    """The submitted report, its activity and deadline if `member` (its host) may still amend
    it as of `sent`; otherwise the refusal."""
    report = await reports_repo.get(conn, report_pk)
    activity = await activities_repo.by_pk(conn, report.activity_pk) if report else None
    if report is None or activity is None:
        return Submitted("not_found")
    if activity.host_pk != member.pk or report.host_pk != member.pk:
        return Submitted("not_host")
    if not report.submitted or report.due_at is None:
        return Submitted("not_submitted", report)
    due = parse_ts(report.due_at).astimezone(cfg.tz)
    if not can_amend(sent, due):
        return Submitted("deadline_passed", report, due)
    return report, activity, due


async def amend(
    db: Database, cfg: Config, member: Member, report_pk: int, overrides: Mapping[str, Any],
    photos_replaced: bool, now: dt.datetime, *, sent_at: dt.datetime | None = None,
) -> Submitted:
    """Applies an amendment sent (`sent_at`, None: `now`) before the deadline and tells HR, in
    one transaction."""
    at = ts(now)
    sent = as_sent(sent_at, now)
    gone: list[str] = []
    before: Report | None = None
    async with db.tx() as conn:
        checked = await _amendable(conn, cfg, member, report_pk, sent)
        if isinstance(checked, Submitted):
            return checked
        report, activity, due = checked
        count = await reports_repo.photo_count(conn, report.pk, staged=photos_replaced)
        content = content_of(report, count, overrides)
        missing = content.missing()
        if missing:
            return Submitted("incomplete", report, due, missing=missing)
        changed = {k: v for k, v in content.fields().items() if getattr(report, k) != v}
        before = report
        att = await roll_attendance(conn, activity)
        await reports_repo.amend(conn, report.pk, now=ts(sent), values=changed, roll=att.counts)
        if photos_replaced:
            gone = await reports_repo.promote_staged(conn, report.pk)
        amended = await reports_repo.get(conn, report.pk)
        assert amended is not None
        report = amended
        photos = await reports_repo.photos(conn, report.pk)
        info = await rendered_info(conn, cfg, activity, report, content, live=False)
        new_document = "recommended_file" in changed and content.recommended_file
        await _queue_report(
            conn, cfg, await notify.hr_recipients(conn, cfg), kind="reports.amended",
            header_key="reports.hr.header_amended", info=info, content=content,
            photo_paths=[files_path(cfg, p.file_path) for p in photos]
            if photos_replaced else None,
            document=files_path(cfg, content.recommended_file)
            if new_document and content.recommended_file else None,
            now=at,
        )
    remove_files(cfg, gone)
    if before is not None:
        _drop_replaced_document(cfg, before, changed)
    return Submitted(None, report, due, report.late,
                     headcount_difference(content.stated_headcount, att.counts))


async def send(
    db: Database, cfg: Config, member: Member, report_pk: int,
    amendment: Mapping[str, Any] | None, photos_replaced: bool, now: dt.datetime,
    *, sent_at: dt.datetime | None = None,
) -> Submitted:
    """Submits the draft (`amendment` None) or applies the amendment, HR's copy included."""
    if amendment is None:
        return await submit(db, cfg, member, report_pk, now, sent_at=sent_at)
    return await amend(db, cfg, member, report_pk, amendment, photos_replaced, now,
                       sent_at=sent_at)


async def start_amendment(
    db: Database, cfg: Config, member: Member, report_pk: int, now: dt.datetime,
    *, sent_at: dt.datetime | None = None,
) -> Submitted:
    """Checks an amendment may begin (the deadline as of `sent_at`, None: `now`) and drops
    photos staged by an abandoned one."""
    async with db.tx() as conn:
        checked = await _amendable(conn, cfg, member, report_pk, as_sent(sent_at, now))
        if isinstance(checked, Submitted):
            return checked
        report, _, due = checked
        gone = await reports_repo.clear_photos(conn, report.pk, staged=True)
    remove_files(cfg, gone)
    return Submitted(None, report, due, report.late)


# -- the host's list and the overviews ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listed:
    item: Reportable
    state: State
    due: dt.datetime


async def awaiting_for_host(
    db: Database, cfg: Config, member: Member, now: dt.datetime
) -> list[Listed]:
    """The host's activities with a report to file, or a submitted one still amendable."""
    async with db.read() as conn:
        items = await reports_repo.reportable(
            conn, ended_by=ts(now), ended_after=ts(now - OFFER_LOOKBACK), host_pk=member.pk,
            limit=50,
        )
    out = []
    for item in items:
        due = deadline_of(cfg, item)
        state = classify(cfg, item, now)
        submitted = item.report is not None and item.report.submitted
        if not submitted or can_amend(now, due):
            out.append(Listed(item, state, due))
    return out


async def next_hosted(db: Database, member: Member, now: dt.datetime) -> Activity | None:
    """The member's next group activity to host."""
    async with db.read() as conn:
        upcoming = await activities_repo.for_member(conn, member, start_from=ts(now), limit=50)
    return next((a for a in upcoming if a.host_pk == member.pk and a.type == "group_study"),
                None)


async def running_hosted(db: Database, member: Member, now: dt.datetime) -> Activity | None:
    """The group activity the member hosts that has begun and not yet ended."""
    async with db.read() as conn:
        begun = await activities_repo.for_member(
            conn, member, start_to=ts(now), end_after=ts(now), limit=50, newest_first=True
        )
    return next((a for a in begun if a.host_pk == member.pk and a.type == "group_study"), None)


@dataclass(frozen=True, slots=True)
class HostList:
    """/report: what the host may file or amend; when nothing, the activity they host that is
    still running (`running`: its report opens when it ends), else the next one they host,
    and its deadline."""

    listed: list[Listed]
    upcoming: Activity | None = None
    upcoming_due: dt.datetime | None = None
    running: bool = False


async def host_list(db: Database, cfg: Config, member: Member, now: dt.datetime) -> HostList:
    listed = await awaiting_for_host(db, cfg, member, now)
    if listed:
        return HostList(listed)
    running = await running_hosted(db, member, now)
    if running is not None:
        return HostList([], running, deadline(cfg, running.end_at), running=True)
    upcoming = await next_hosted(db, member, now)
    if upcoming is None:
        return HostList([])
    return HostList([], upcoming, deadline(cfg, upcoming.end_at))


async def overview(
    db: Database, cfg: Config, viewer: Member, now: dt.datetime
) -> dict[State, list[Listed]] | None:
    """Reports by state: HR sees every group's, a leader the own group's (None for anyone
    else)."""
    if not (viewer.is_hr or (viewer.is_leader and viewer.group_id is not None)):
        return None
    group_id = None if viewer.is_hr else viewer.group_id
    async with db.read() as conn:
        items = await reports_repo.reportable(
            conn, ended_by=ts(now), ended_after=ts(now - OFFER_LOOKBACK), group_id=group_id,
            limit=300,
        )
    out: dict[State, list[Listed]] = {"on_time": [], "late": [], "overdue": [], "awaiting": []}
    for item in items:
        submitted = item.report is not None and item.report.submitted
        if not submitted and not needs_report(item):
            continue
        state = classify(cfg, item, now)
        out[state].append(Listed(item, state, deadline_of(cfg, item)))
    return out


async def overdue_reports(
    db: Database, cfg: Config, now: dt.datetime, group_id: int | None = None
) -> list[Listed]:
    """Reports missing after their deadline (for HR's daily digest), oldest deadline first."""
    async with db.read() as conn:
        items = await reports_repo.reportable(
            conn, ended_by=ts(now), ended_after=ts(now - OFFER_LOOKBACK), group_id=group_id,
            unsubmitted_only=True, limit=500,
        )
    out = [
        Listed(i, "overdue", deadline_of(cfg, i)) for i in items
        if needs_report(i) and classify(cfg, i, now) == "overdue"
    ]
    return sorted(out, key=lambda x: (x.due, x.item.activity_id))


def can_view(viewer: Member, item: Reportable) -> bool:
    """HR sees every report, a leader the own group's, a host the own."""
    if not viewer.active:
        return False
    if viewer.is_hr or item.host_pk == viewer.pk:
        return True
    return viewer.is_leader and viewer.group_id is not None and viewer.group_id == item.group_id


@dataclass(frozen=True, slots=True)
class Opening:
    text: str
    photo_file_ids: list[str]
    document: Path | None
    document_name: str | None


async def open_report(
    db: Database, cfg: Config, viewer: Member, lang: str, report_pk: int
) -> Opening | None:
    """A submitted report as HR got it, for someone allowed to see it."""
    async with db.read() as conn:
        report = await reports_repo.get(conn, report_pk)
        if report is None or not report.submitted:
            return None
        item = await reports_repo.reportable_one(conn, report.activity_pk)
        activity = await activities_repo.by_pk(conn, report.activity_pk)
        if item is None or activity is None or not can_view(viewer, item):
            return None
        photos = await reports_repo.photos(conn, report.pk)
        content = content_of(report, len(photos))
        info = await rendered_info(conn, cfg, activity, report, content, live=False)
    header = t(lang, "reports.view.header", title=activity.title, host=info.host_name)
    return Opening(
        render(lang, cfg, header, info, content), [p.file_id for p in photos],
        files_path(cfg, content.recommended_file) if content.recommended_file else None,
        content.recommended_file_name,
    )


# -- handing over the hosting ---------------------------------------------------------------

HandoverRefusal = Literal["forbidden", "not_found", "started", "cancelled", "bad_host", "same"]


@dataclass(frozen=True, slots=True)
class HandedOver:
    refusal: HandoverRefusal | None
    activity: Activity | None = None
    new_host: Member | None = None
    old_host: Member | None = None


def host_candidate(member: Member, activity: Activity) -> bool:
    return (
        member.active and member.role in ("trainee", "leader")
        and member.group_id is not None and member.group_id == activity.group_id
    )


async def hand_over(
    db: Database, cfg: Config, actor: Member, activity_pk: int, new_host_pk: int,
    now: dt.datetime,
) -> HandedOver:
    """A leader gives the hosting of a group activity that has not started to another member;
    the new host (and the one replaced) are told, in the same transaction."""
    at = ts(now)
    async with db.tx() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
        if activity is None:
            return HandedOver("not_found")
        if not can_manage(actor, activity):
            return HandedOver("forbidden", activity)
        if activity.status != "scheduled":
            return HandedOver("cancelled", activity)
        if parse_ts(activity.start_at) <= now:
            return HandedOver("started", activity)
        new_host = await members_repo.by_pk(conn, new_host_pk)
        if new_host is None or not host_candidate(new_host, activity):
            return HandedOver("bad_host", activity)
        if new_host.pk == activity.host_pk:
            return HandedOver("same", activity, new_host)
        old_host = (
            await members_repo.by_pk(conn, activity.host_pk) if activity.host_pk else None
        )
        await activities_repo.update_fields(
            conn, activity.pk, type=activity.type, title=activity.title,
            group_id=activity.group_id, start_at=activity.start_at, end_at=activity.end_at,
            location=activity.location, lat=activity.lat, lon=activity.lon,
            radius_m=activity.radius_m, host_pk=new_host.pk, now=at,
        )
        await audit.record(
            conn, at=at, actor_pk=actor.pk, action="activity.host",
            subject=f"activity:{activity.activity_id}",
            before={"host": old_host.member_id if old_host else None},
            after={"host": new_host.member_id},
        )
        updated = await activities_repo.by_pk(conn, activity.pk)
        assert updated is not None
        due = deadline(cfg, updated.end_at)
        if new_host.pk != actor.pk:
            lang = lang_of(new_host, cfg)
            await notify.to_member(
                conn, cfg, new_host, "reports.handover.new_host", now=at,
                kind="reports.handover", card=activity_card(lang, updated, cfg.tz),
                by=actor.name, deadline=deadline_words(lang, due),
            )
        if old_host is not None and old_host.pk != actor.pk:
            lang = lang_of(old_host, cfg)
            await notify.to_member(
                conn, cfg, old_host, "reports.handover.old_host", now=at,
                kind="reports.handover", card=activity_card(lang, updated, cfg.tz),
                by=actor.name, name=new_host.name,
            )
    return HandedOver(None, updated, new_host, old_host)


async def handover_candidates(db: Database, activity: Activity) -> list[Member]:
    async with db.read() as conn:
        people = await activities_repo.participants(conn, activity)
    return [m for m in people if host_candidate(m, activity) and m.pk != activity.host_pk]


async def handover_list(db: Database, leader: Member, now: dt.datetime) -> list[Activity] | None:
    """The upcoming activities of the leader's group (for /handover); None when `leader`
    leads no group."""
    if not leader.is_leader or leader.group_id is None:
        return None
    async with db.read() as conn:
        return await activities_repo.upcoming_for_group(conn, leader.group_id, ts(now))


@dataclass(frozen=True, slots=True)
class HandoverChoice:
    """The members an actor may give the hosting of an activity to; `refusal` says why not."""

    refusal: HandoverRefusal | None
    activity: Activity | None = None
    candidates: list[Member] = field(default_factory=list)


async def handover_choice(
    db: Database, actor: Member, activity_pk: int, now: dt.datetime
) -> HandoverChoice:
    """Checks the actor manages the activity and it has not started (hand_over checks again
    in its transaction), and lists who could host it instead."""
    async with db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
    if activity is None:
        return HandoverChoice("not_found")
    if not can_manage(actor, activity):
        return HandoverChoice("forbidden", activity)
    if activity.status != "scheduled":
        return HandoverChoice("cancelled", activity)
    if parse_ts(activity.start_at) <= now:
        return HandoverChoice("started", activity)
    return HandoverChoice(None, activity, await handover_candidates(db, activity))


# -- reminders and escalation ---------------------------------------------------------------


async def _remind(
    conn: aiosqlite.Connection, cfg: Config, item: Reportable, stage: str, due: dt.datetime,
    now: dt.datetime,
) -> int:
    at = ts(now)
    activity = await activities_repo.by_pk(conn, item.activity_pk)
    host = await members_repo.by_pk(conn, item.host_pk)
    if activity is None or host is None:
        return 0
    queued = 0
    lang = lang_of(host, cfg)
    params: dict[str, Any] = {
        "title": item.title, "card": activity_card(lang, activity, cfg.tz),
        "deadline": deadline_words(lang, due),
    }
    row = await notify.to_member(
        conn, cfg, host, f"reports.remind.{stage}", now=at, kind=f"reports.{stage}",
        dedupe_key=f"rep:{stage}:{item.activity_pk}:{host.pk}", **params,
    )
    queued += row is not None
    if stage == "overdue" and cfg.reports.notify_leader_when_overdue and item.group_id:
        leader = await members_repo.group_leader(conn, item.group_id)
        if leader is not None and leader.pk != host.pk:
            lang = lang_of(leader, cfg)
            row = await notify.to_member(
                conn, cfg, leader, "reports.remind.overdue_leader", now=at,
                kind="reports.overdue_leader",
                dedupe_key=f"rep:overdue_leader:{item.activity_pk}:{leader.pk}",
                title=item.title, host=host.name, card=activity_card(lang, activity, cfg.tz),
                deadline=deadline_words(lang, due),
            )
            queued += row is not None
    return queued


async def _already(conn: aiosqlite.Connection, key: str) -> bool:
    async with conn.execute("SELECT 1 FROM outbox WHERE dedupe_key = ?", (key,)) as cur:
        return await cur.fetchone() is not None


async def remind_due(services: Services, now: dt.datetime) -> int:
    """Tells each host what is due (at the end of the activity, on the morning of the due day,
    shortly before the deadline) and, once it has passed, the host and the leader. Idempotent:
    every message has a dedupe key; after downtime only the latest stage is sent."""
    cfg = services.config
    rule_set = rules(cfg)
    async with services.db.read() as conn:
        items = await reports_repo.reportable(
            conn, ended_by=ts(now), ended_after=ts(now - REMINDER_LOOKBACK),
            unsubmitted_only=True,
        )
    done = 0
    for item in items:
        if not needs_report(item):
            continue
        due = deadline(cfg, item.end_at)
        stage = reminder_due(parse_ts(item.end_at), due, now, rule_set)
        if stage is None:
            continue
        key = f"rep:{stage}:{item.activity_pk}:{item.host_pk}"
        async with services.db.read() as conn:
            if await _already(conn, key):
                continue
        async with services.db.tx() as conn:
            # Filed in the meantime? Then nothing is due.
            report = await reports_repo.for_activity(conn, item.activity_pk)
            if report is not None and report.submitted:
                continue
            done += await _remind(conn, cfg, item, stage, due, now)
    return done
