"""Reading rules: targets, the programme year, pace, counting by review mode, nudges, input checks.

Pure functions only (no Telegram, no SQL), so every rule is a table-driven unit test.

- Targets per programme year (the plan): 6 books, at least 2 of them education monographs, and
  1 school-management analysis.
- The programme year is the calendar year unless `[program] year_starts` moves its first day
  (e.g. "09-01" for a school year); a year is labelled by the calendar year it starts in. It is
  the whole product's year (credits and the exit rules count the same one); the old key
  `[reading] year_starts` is still read when it says the same day (bot.core.config).
- Pace: by a date, a trainee "should" have finished floor(target x share of the year gone)
  books, the share counting whole days already over — counted from the day the member joined
  (registered) when that is later than the year's first day, at the same rate (6 books a
  year): a member who joins on 1 July is expected to read 3 by the year's end, one who joins in
  December none. "N behind" is how many books they must read to be back on pace (the
  monographs needed can be among them), so it is the larger of the books and the monographs
  shortfall.
- Counting: with review "auto" a submission counts unless it was returned; with "required" only
  once accepted.
- Nudges: at most once a calendar month, from `nudge_day` at `nudge_time`, never in the quiet
  hours, and only for trainees behind pace as of that month's nudge day and past their first
  week (`FIRST_WEEK`) by then. The nudge's suggestion is true of the catalog that exists
  (`suggestion`): a required book not logged yet, or else what there is to choose from.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from bot.core.config import parse_year_starts as parse_year_starts
from bot.documents.filenames import MAX_DOWNLOAD_BYTES as MAX_DOWNLOAD_BYTES
from bot.documents.filenames import suffix_of, too_big

if TYPE_CHECKING:
    from bot.core.config import Config

TARGET_BOOKS = 6
TARGET_MONOGRAPHS = 2
TARGET_ANALYSES = 1

# A text reflection must fit one Telegram message (4096); a client splits longer pastes into
# several messages, so anything near the limit may be cut: longer texts come as documents.
MAX_TEXT_CHARS = 4000
MAX_TITLE_CHARS = 200
MAX_COMMENT_CHARS = 1000
SEARCH_LIMIT = 8
QUIET_START = dt.time(22, 0)
QUIET_END = dt.time(7, 0)
# Nobody is nudged about reading in the week they joined.
FIRST_WEEK = dt.timedelta(days=7)

Kind = Literal["book", "paper", "reflection", "management_analysis"]
KINDS: tuple[Kind, ...] = ("book", "paper", "reflection", "management_analysis")
OUTPUT_KINDS: tuple[Kind, ...] = ("paper", "reflection", "management_analysis")
Status = Literal["submitted", "accepted", "returned"]
ReviewMode = Literal["auto", "required"]
Category = Literal["education_monograph", "other"]
BookList = Literal["required", "elective"]

DOCUMENT_SUFFIXES: tuple[str, ...] = (".docx", ".pdf", ".txt")
_MIME_SUFFIX: dict[str, str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


# -- counting -----------------------------------------------------------------------------------


class Countable(Protocol):
    """What counting needs to know of a submission."""

    @property
    def kind(self) -> str: ...

    @property
    def monograph(self) -> bool: ...

    @property
    def status(self) -> str: ...


def counts(status: str, mode: str) -> bool:
    """Whether a submission with `status` counts toward the targets under review `mode`."""
    if mode == "required":
        return status == "accepted"
    return status in ("submitted", "accepted")


def awaiting_review(status: str, mode: str) -> bool:
    """Submitted but not yet counted (only in `required` mode)."""
    return mode == "required" and status == "submitted"


@dataclass(frozen=True, slots=True)
class Tally:
    """What counts this year: books, education monographs among them, management analyses."""

    books: int = 0
    monographs: int = 0
    analyses: int = 0
    pending: int = 0  # awaiting review (required mode)
    returned: int = 0

    @property
    def analysis_done(self) -> bool:
        return self.analyses >= TARGET_ANALYSES

    @property
    def targets_met(self) -> bool:
        return (
            self.books >= TARGET_BOOKS
            and self.monographs >= TARGET_MONOGRAPHS
            and self.analysis_done
        )


def tally(entries: Iterable[Countable], mode: str) -> Tally:
    books = monographs = analyses = pending = returned = 0
    for e in entries:
        if e.status == "returned":
            returned += 1
        if awaiting_review(e.status, mode):
            pending += 1
        if not counts(e.status, mode):
            continue
        if e.kind == "book":
            books += 1
            monographs += int(bool(e.monograph))
        elif e.kind == "management_analysis":
            analyses += 1
    return Tally(books, monographs, analyses, pending, returned)


# -- the programme year -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProgrammeYear:
    """A programme year: `label` is the calendar year it starts in; `end` is exclusive."""

    label: int
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end


def check_config(cfg: Config) -> list[str]:
    """Problems with `[reading]`, as "[reading] key: reason" (the loader names the file).
    `year_starts` here is the old key's form only: that it agrees with `[program]` and
    `[credits]` is checked by the loader."""
    from bot.core.config import problem

    rd, lang = cfg.reading, cfg.program.language
    problems: list[str] = []
    if not 1 <= rd.min_reflection_chars <= 4000:
        problems.append(problem(lang, "[reading] min_reflection_chars", "between",
                                low=1, high=4000))
    try:
        parse_year_starts(rd.year_starts)
    except ValueError:
        problems.append(problem(lang, "[reading] year_starts", "year_starts",
                                value=repr(rd.year_starts)))
    if not 0 <= rd.nudge_day <= 28:
        problems.append(problem(lang, "[reading] nudge_day", "between_off", high=28))
    return problems


def programme_year(day: dt.date, starts: tuple[int, int] = (1, 1)) -> ProgrammeYear:
    """The programme year `day` falls in."""
    month, dom = starts
    start = dt.date(day.year, month, dom)
    if day < start:
        start = dt.date(day.year - 1, month, dom)
    return ProgrammeYear(start.year, start, dt.date(start.year + 1, month, dom))


def year_by_label(label: int, starts: tuple[int, int] = (1, 1)) -> ProgrammeYear:
    month, dom = starts
    return ProgrammeYear(label, dt.date(label, month, dom), dt.date(label + 1, month, dom))


def counted_from(year: ProgrammeYear, joined: dt.date | None) -> dt.date:
    """The day pace counts from: the day the member joined, or the year's first day if later
    (or if the day is unknown); at most the year's end."""
    if joined is None:
        return year.start
    return min(max(joined, year.start), year.end)


def joined_on(registered_at: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None:
    """The local date a member joined: when they registered (None: never)."""
    return registered_at.astimezone(tz).date() if registered_at is not None else None


def share_gone(day: dt.date, year: ProgrammeYear, since: dt.date | None = None) -> float:
    """The share of the year over by the start of `day` (whole days) counting from `since`
    (default the year's first day), between 0 and 1."""
    done = (day - (since or year.start)).days
    return min(max(done / year.days, 0.0), 1.0)


# -- pace -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pace:
    share: float  # of the year gone
    expected_books: int
    expected_monographs: int
    books_behind: int
    monographs_behind: int
    # The day the member joined, when pace counts from it rather than from the year's start.
    joined: dt.date | None = None

    @property
    def behind(self) -> int:
        """Books to read to be back on pace (the missing monographs can be among them)."""
        return max(self.books_behind, self.monographs_behind)

    @property
    def on_track(self) -> bool:
        return self.behind == 0


def pace(t: Tally, day: dt.date, year: ProgrammeYear, joined: dt.date | None = None) -> Pace:
    """Where a reader stands on `day`, counting from when they joined (`counted_from`)."""
    since = counted_from(year, joined)
    share = share_gone(day, year, since)
    # The epsilon keeps 6 x 0.5 from landing just under 3.
    books = int(TARGET_BOOKS * share + 1e-9)
    monos = int(TARGET_MONOGRAPHS * share + 1e-9)
    return Pace(
        share=share,
        expected_books=books,
        expected_monographs=monos,
        books_behind=max(books - t.books, 0),
        monographs_behind=max(monos - t.monographs, 0),
        joined=since if since > year.start else None,
    )


# -- nudges ---------------------------------------------------------------------------------------


def is_quiet(moment: dt.time) -> bool:
    """22:00-07:00: nobody is reminded of reading at night."""
    return moment >= QUIET_START or moment < QUIET_END


def nudge_moment(now: dt.datetime, nudge_day: int, at: dt.time) -> dt.datetime | None:
    """When this month's nudge may first go out (None when nudges are off)."""
    if nudge_day <= 0:
        return None
    return now.replace(day=nudge_day, hour=at.hour, minute=at.minute, second=0, microsecond=0)


def nudge_window_open(now: dt.datetime, nudge_day: int, at: dt.time) -> bool:
    """Whether a nudge for this month may be sent now (catching up later in the month is fine)."""
    moment = nudge_moment(now, nudge_day, at)
    return moment is not None and now >= moment and not is_quiet(now.timetz())


def nudged(p: Pace, day: dt.date, joined: dt.date | None) -> bool:
    """Whether a reader with pace `p` on the nudge's pace `day` gets this month's nudge: behind,
    and joined at least `FIRST_WEEK` before `day` (or at an unknown time)."""
    return not p.on_track and (joined is None or day - joined >= FIRST_WEEK)


def nudge_pace_day(now: dt.datetime, nudge_day: int) -> dt.date:
    """The day pace is judged on for this month's nudge: the nudge day, not the day it goes out,
    so a nudge caught up after downtime says the same, and nobody is nudged mid-month for
    crossing a threshold after the nudge day."""
    return dt.date(now.year, now.month, max(nudge_day, 1))


def month_key(day: dt.date | dt.datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def nudge_dedupe_key(member_pk: int, month: str) -> str:
    return f"nudge:reading:{member_pk}:{month}"


class CatalogEntry(Protocol):
    """What the rules need of a catalog book."""

    @property
    def pk(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def author(self) -> str: ...

    @property
    def book_list(self) -> str: ...

    @property
    def category(self) -> str: ...


B = TypeVar("B", bound=CatalogEntry)


def suggest(
    catalog: Sequence[B], logged: set[int], *, want_monograph: bool
) -> B | None:
    """A required book not logged yet; a monograph first when monographs are what is missing."""
    required = [b for b in catalog if b.book_list == "required" and b.pk not in logged]
    if want_monograph:
        for b in required:
            if b.category == "education_monograph":
                return b
    return required[0] if required else None


# The nudge's suggestion line, named as its catalog key under `reading.nudge`.
SuggestionKind = Literal["suggest", "no_suggestion", "electives", "own_choice", "no_catalog"]


def suggestion(
    catalog: Sequence[B], logged: set[int], *, want_monograph: bool
) -> tuple[SuggestionKind, B | None]:
    """What the nudge suggests, true of the catalog that exists: a required book not logged yet
    ("suggest"); else the electives left ("no_suggestion" when every required book is logged,
    "electives" when the catalog has no required books); else a book of one's own choice
    ("own_choice"), or "no_catalog" when no catalog is imported for the year."""
    if not catalog:
        return "no_catalog", None
    book = suggest(catalog, logged, want_monograph=want_monograph)
    if book is not None:
        return "suggest", book
    if not any(b.book_list == "elective" and b.pk not in logged for b in catalog):
        return "own_choice", None
    if any(b.book_list == "required" for b in catalog):
        return "no_suggestion", None
    return "electives", None


# -- input ----------------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_title(title: str) -> str:
    """The form titles are compared in: width-folded, case-folded, without spaces, punctuation
    or book-title marks (so 《给教师的建议》 and "给教师的 建议" are the same book)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return _PUNCT.sub("", folded)


def clean_title(title: str) -> str:
    """A typed title as it is stored and shown: single spaces, no surrounding book-title marks."""
    text = " ".join(unicodedata.normalize("NFKC", title).split())
    return text.strip("《》〈〉<>\"'“”‘’「」『』 ")


def typed_title(text: str) -> tuple[str, str] | None:
    """A typed title, cleaned, and its normalised form; None if nothing is left or it is
    longer than MAX_TITLE_CHARS."""
    title = clean_title(text)
    norm = normalize_title(title)
    if not norm or len(title) > MAX_TITLE_CHARS:
        return None
    return title, norm


def matches(query: str, title: str, author: str = "") -> bool:
    """Whether every word of `query` occurs in the title or the author (normalised)."""
    words = [normalize_title(w) for w in query.split()]
    words = [w for w in words if w]
    if not words:
        return False
    hay = normalize_title(title)
    who = normalize_title(author)
    return all(w in hay or (who and w in who) for w in words)


def search(catalog: Sequence[B], query: str) -> list[B]:
    """Catalog books whose title or author holds every word of `query`, catalog order."""
    return [b for b in catalog if matches(query, b.title, b.author)]


ReflectionProblem = Literal["too_short", "too_long"]


def reflection_chars(text: str) -> int:
    """Characters that count toward the minimum: everything but white space."""
    return sum(1 for c in text if not c.isspace())


def check_reflection(text: str, min_chars: int) -> ReflectionProblem | None:
    if len(text) > MAX_TEXT_CHARS:
        return "too_long"
    if reflection_chars(text) < min_chars:
        return "too_short"
    return None


DocumentProblem = Literal["type", "too_big"]


def document_suffix(file_name: str | None, mime_type: str | None) -> str | None:
    """The stored file's suffix (.docx/.pdf/.txt) judged from the name, else the MIME type;
    None when it is not a kind we take. Only the suffix of the user's name is ever used."""
    if file_name and "." in file_name:
        return suffix_of(file_name, DOCUMENT_SUFFIXES)
    return _MIME_SUFFIX.get((mime_type or "").split(";")[0].strip().lower())


def check_document(
    file_name: str | None, mime_type: str | None, size: int | None
) -> tuple[str | None, DocumentProblem | None]:
    """(suffix, problem): a problem when the kind is not taken or it is over 20 MB."""
    suffix = document_suffix(file_name, mime_type)
    if suffix is None:
        return None, "type"
    if too_big(size):
        return suffix, "too_big"
    return suffix, None


def decode_text_file(data: bytes) -> str | None:
    """A .txt reflection's text (UTF-8, with or without BOM, or GB18030), None if neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


DateProblem = Literal["format", "future", "before_year"]

_TODAY = {"今天", "今日", "today"}
_YESTERDAY = {"昨天", "昨日", "yesterday"}
_DAY_BEFORE = {"前天", "前日"}
_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_SHORT = re.compile(r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")


def parse_finished_on(
    text: str, today: dt.date, year: ProgrammeYear
) -> tuple[dt.date | None, DateProblem | None]:
    """The date a book was finished: YYYY-MM-DD, MM-DD (the latest such day up to today),
    今天/昨天/前天, today/yesterday. Not in the future, not before the programme year."""
    s = unicodedata.normalize("NFKC", text).strip().casefold().rstrip("。.")
    day: dt.date | None = None
    try:
        if s in _TODAY:
            day = today
        elif s in _YESTERDAY:
            day = today - dt.timedelta(days=1)
        elif s in _DAY_BEFORE:
            day = today - dt.timedelta(days=2)
        elif m := _FULL.fullmatch(s):
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif m := _SHORT.fullmatch(s):
            month, dom = int(m.group(1)), int(m.group(2))
            try:
                day = dt.date(today.year, month, dom)
            except ValueError:  # 02-29 in a common year: the last leap year's
                day = None
            if day is None or day > today:
                day = dt.date(today.year - 1, month, dom)
    except ValueError:
        return None, "format"
    if day is None:
        return None, "format"
    if day > today:
        return None, "future"
    if day < year.start:
        return None, "before_year"
    return day, None


# -- who may do what ------------------------------------------------------------------------------


def may_review(
    reviewer_role: str, reviewer_pk: int, reviewer_group: int | None,
    owner_pk: int, owner_group: int | None,
) -> bool:
    """HR reviews anyone's; a leader reviews the members of their own group, not their own."""
    if reviewer_pk == owner_pk:
        return False
    if reviewer_role == "hr":
        return True
    return reviewer_role == "leader" and reviewer_group is not None and (
        reviewer_group == owner_group
    )


def may_open(
    viewer_role: str, viewer_pk: int, viewer_group: int | None,
    owner_pk: int, owner_group: int | None,
) -> bool:
    """The owner, and whoever may review it."""
    return viewer_pk == owner_pk or may_review(
        viewer_role, viewer_pk, viewer_group, owner_pk, owner_group
    )


def can_accept(status: str) -> bool:
    return status == "submitted"


def can_return(status: str) -> bool:
    return status in ("submitted", "accepted")


def logs_reading(role: str) -> bool:
    """Trainees and leaders log reading; HR runs the programme."""
    return role in ("trainee", "leader")
