"""Reading rules as plain functions: programme year, pace on fixed dates, counting by review
mode, nudge timing, date parsing, title matching, reflection and document checks, permissions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.config import problem
from bot.core.i18n import t
from bot.reading import rules

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date


@dataclass(frozen=True)
class E:
    kind: str
    monograph: bool
    status: str


@dataclass(frozen=True)
class B:
    pk: int
    title: str
    author: str
    book_list: str
    category: str


# -- programme year -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "starts", "label", "start", "end"),
    [
        (D(2026, 3, 2), (1, 1), 2026, D(2026, 1, 1), D(2027, 1, 1)),
        (D(2026, 1, 1), (1, 1), 2026, D(2026, 1, 1), D(2027, 1, 1)),
        (D(2026, 12, 31), (1, 1), 2026, D(2026, 1, 1), D(2027, 1, 1)),
        (D(2026, 8, 31), (9, 1), 2025, D(2025, 9, 1), D(2026, 9, 1)),
        (D(2026, 9, 1), (9, 1), 2026, D(2026, 9, 1), D(2027, 9, 1)),
        (D(2027, 3, 2), (9, 1), 2026, D(2026, 9, 1), D(2027, 9, 1)),
    ],
)
def test_programme_year(
    day: dt.date, starts: tuple[int, int], label: int, start: dt.date, end: dt.date
) -> None:
    year = rules.programme_year(day, starts)
    assert (year.label, year.start, year.end) == (label, start, end)
    assert year.contains(day)
    assert rules.year_by_label(label, starts) == year


@pytest.mark.parametrize(
    ("text", "expected"),
    [("01-01", (1, 1)), ("09-01", (9, 1)), (" 12-31 ", (12, 31))],
)
def test_year_starts_parses(text: str, expected: tuple[int, int]) -> None:
    assert rules.parse_year_starts(text) == expected


@pytest.mark.parametrize("text", ["02-29", "13-01", "9-1", "2026-09-01", "", "09/01", "00-10"])
def test_year_starts_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_year_starts(text)


# -- pace on fixed dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "starts", "books", "monos", "exp_books", "exp_monos", "behind"),
    [
        # Calendar year 2026 (365 days): the share counts whole days already over.
        (D(2026, 1, 1), (1, 1), 0, 0, 0, 0, 0),
        (D(2026, 3, 2), (1, 1), 0, 0, 0, 0, 0),  # 60 of 365 days over: 0.986 books
        (D(2026, 3, 3), (1, 1), 0, 0, 1, 0, 1),  # 61/365: 1.003 books
        (D(2026, 3, 3), (1, 1), 1, 0, 1, 0, 0),
        (D(2026, 7, 2), (1, 1), 2, 0, 2, 0, 0),  # 182/365 -> 2.99 books, 0.997 monographs
        (D(2026, 7, 3), (1, 1), 2, 0, 3, 1, 1),  # 183/365 -> 3.008, 1.003
        (D(2026, 7, 3), (1, 1), 1, 0, 3, 1, 2),
        (D(2026, 7, 3), (1, 1), 3, 0, 3, 1, 1),  # books on pace, a monograph missing
        (D(2026, 7, 3), (1, 1), 3, 1, 3, 1, 0),
        (D(2026, 12, 31), (1, 1), 5, 1, 5, 1, 0),
        (D(2026, 12, 31), (1, 1), 0, 0, 5, 1, 5),
        (D(2026, 12, 31), (1, 1), 9, 3, 5, 1, 0),  # ahead is not negative
        # Leap year 2028: 2028-07-02 is exactly half way (183/366): 3 books, 1 monograph.
        (D(2028, 7, 2), (1, 1), 0, 0, 3, 1, 3),
        (D(2028, 7, 1), (1, 1), 0, 0, 2, 0, 2),
        # A school year from 09-01: 2027-03-02 is 182 days into 2026/27.
        (D(2027, 3, 2), (9, 1), 0, 0, 2, 0, 2),
        (D(2026, 9, 1), (9, 1), 0, 0, 0, 0, 0),
    ],
)
def test_pace_on_fixed_dates(
    day: dt.date, starts: tuple[int, int], books: int, monos: int, exp_books: int,
    exp_monos: int, behind: int,
) -> None:
    year = rules.programme_year(day, starts)
    p = rules.pace(rules.Tally(books=books, monographs=monos), day, year)
    assert (p.expected_books, p.expected_monographs, p.behind) == (exp_books, exp_monos, behind)
    assert p.on_track == (behind == 0)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)),
       st.integers(0, 8), st.integers(0, 8))
def test_pace_invariants(day: dt.date, books: int, monos: int) -> None:
    monos = min(monos, books)
    year = rules.programme_year(day)
    p = rules.pace(rules.Tally(books=books, monographs=monos), day, year)
    assert 0 <= p.expected_books <= rules.TARGET_BOOKS
    assert 0 <= p.expected_monographs <= rules.TARGET_MONOGRAPHS
    assert p.behind >= 0
    # Reading the books one is behind (monographs among them) puts one back on pace.
    caught_up = rules.Tally(books=books + p.behind, monographs=monos + p.monographs_behind)
    assert rules.pace(caught_up, day, year).on_track
    # Later in the same year never expects fewer books.
    later = min(day + dt.timedelta(days=30), year.last_day)
    assert rules.pace(rules.Tally(), later, year).expected_books >= p.expected_books


# -- counting by review mode ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "mode", "counted", "pending"),
    [
        ("submitted", "auto", True, False),
        ("accepted", "auto", True, False),
        ("returned", "auto", False, False),
        ("submitted", "required", False, True),
        ("accepted", "required", True, False),
        ("returned", "required", False, False),
    ],
)
def test_counts_by_mode(status: str, mode: str, counted: bool, pending: bool) -> None:
    assert rules.counts(status, mode) is counted
    assert rules.awaiting_review(status, mode) is pending


ENTRIES = [
    E("book", True, "submitted"),
    E("book", False, "accepted"),
    E("book", True, "returned"),
    E("book", True, "accepted"),
    E("paper", False, "accepted"),
    E("management_analysis", False, "submitted"),
    E("reflection", False, "submitted"),
]


@pytest.mark.parametrize(
    ("mode", "books", "monos", "analyses", "pending", "returned"),
    [("auto", 3, 2, 1, 0, 1), ("required", 2, 1, 0, 3, 1)],
)
def test_tally(mode: str, books: int, monos: int, analyses: int, pending: int,
               returned: int) -> None:
    t = rules.tally(ENTRIES, mode)
    assert (t.books, t.monographs, t.analyses, t.pending, t.returned) == (
        books, monos, analyses, pending, returned
    )
    assert t.analysis_done is (analyses >= 1)
    assert not t.targets_met


def test_targets_met() -> None:
    assert rules.Tally(books=6, monographs=2, analyses=1).targets_met
    assert not rules.Tally(books=6, monographs=1, analyses=1).targets_met


# -- nudges ---------------------------------------------------------------------------------------


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "day", "time", "open_"),
    [
        (at(2026, 4, 1, 8, 59), 1, dt.time(9), False),
        (at(2026, 4, 1, 9, 0), 1, dt.time(9), True),
        (at(2026, 4, 15, 14, 0), 1, dt.time(9), True),  # catching up later in the month
        (at(2026, 4, 1, 22, 0), 1, dt.time(9), False),  # quiet hours
        (at(2026, 4, 2, 6, 59), 1, dt.time(9), False),
        (at(2026, 4, 2, 7, 0), 1, dt.time(9), True),
        (at(2026, 4, 4, 9, 0), 5, dt.time(9), False),  # before this month's nudge day
        (at(2026, 4, 5, 10, 0), 5, dt.time(9), True),
        (at(2026, 4, 5, 10, 0), 0, dt.time(9), False),  # turned off
        (at(2026, 4, 1, 23, 30), 1, dt.time(23), False),  # a nudge time inside quiet hours
    ],
)
def test_nudge_window(now: dt.datetime, day: int, time: dt.time, open_: bool) -> None:
    assert rules.nudge_window_open(now, day, time) is open_


def test_nudge_keys_and_pace_day() -> None:
    now = at(2026, 4, 17, 10)
    assert rules.month_key(now) == "2026-04"
    assert rules.nudge_pace_day(now, 1) == D(2026, 4, 1)
    assert rules.nudge_pace_day(now, 15) == D(2026, 4, 15)
    assert rules.nudge_dedupe_key(7, "2026-04") == "nudge:reading:7:2026-04"


@pytest.mark.parametrize(
    ("logged", "want_mono", "expected"),
    [
        (set(), False, 1),
        (set(), True, 1),
        ({1}, False, 2),
        ({1}, True, 3),
        ({1, 2, 3}, True, 4),  # no required monograph left: any required book
        ({1, 2, 3}, False, 4),
        ({1, 2, 3, 4}, True, None),
    ],
)
def test_suggest(logged: set[int], want_mono: bool, expected: int | None) -> None:
    catalog = [
        B(1, "给教师的建议", "苏霍姆林斯基", "required", "education_monograph"),
        B(2, "第五项修炼", "彼得·圣吉", "required", "other"),
        B(3, "静悄悄的革命", "佐藤学", "required", "education_monograph"),
        B(4, "卓有成效的管理者", "德鲁克", "required", "other"),
        B(5, "教育的目的", "怀特海", "elective", "education_monograph"),
    ]
    book = rules.suggest(catalog, logged, want_monograph=want_mono)
    assert (book.pk if book else None) == expected


# -- joiners: pace from the day they joined, no nudge in the first week ------------------------


@pytest.mark.parametrize(
    ("day", "joined", "books", "exp_books", "exp_monos", "behind", "since"),
    [
        # Joined before the year or unknown: counted from 1 January, as before.
        (D(2026, 7, 3), None, 0, 3, 1, 3, None),
        (D(2026, 7, 3), D(2025, 6, 1), 0, 3, 1, 3, None),
        (D(2026, 7, 3), D(2026, 1, 1), 0, 3, 1, 3, None),
        # Joined on 2 March: 6 x 123/365 = 2.02 books by 3 July, 2 x 123/365 = 0.67 monographs.
        (D(2026, 7, 3), D(2026, 3, 2), 0, 2, 0, 2, D(2026, 3, 2)),
        (D(2026, 7, 3), D(2026, 3, 2), 2, 2, 0, 0, D(2026, 3, 2)),
        # Joined on 1 July: 3 books by the year's last day (183 days of 365 -> 3.008).
        (D(2026, 12, 31), D(2026, 7, 1), 0, 3, 1, 3, D(2026, 7, 1)),
        # The December joiner of issue 16 (was "5 behind"): nothing is due that year.
        (D(2026, 12, 31), D(2026, 12, 4), 0, 0, 0, 0, D(2026, 12, 4)),
        (D(2026, 12, 4), D(2026, 12, 4), 0, 0, 0, 0, D(2026, 12, 4)),
        # Judged on a day before they joined (a nudge caught up): nothing due yet.
        (D(2026, 12, 1), D(2026, 12, 4), 0, 0, 0, 0, D(2026, 12, 4)),
        # 61 days in: the first book is due (6 x 61/365 = 1.003).
        (D(2026, 5, 2), D(2026, 3, 2), 0, 1, 0, 1, D(2026, 3, 2)),
        (D(2026, 5, 1), D(2026, 3, 2), 0, 0, 0, 0, D(2026, 3, 2)),
        # A school year from 09-01: a joiner on 1 March 2027 counts from then.
        (D(2027, 8, 31), D(2027, 3, 1), 0, 3, 1, 3, D(2027, 3, 1)),  # 183/365
    ],
)
def test_pace_of_joiners(
    day: dt.date, joined: dt.date | None, books: int, exp_books: int, exp_monos: int,
    behind: int, since: dt.date | None,
) -> None:
    year = rules.programme_year(day, (9, 1) if day.year == 2027 else (1, 1))
    p = rules.pace(rules.Tally(books=books), day, year, joined)
    assert (p.expected_books, p.expected_monographs, p.behind, p.joined) == (
        exp_books, exp_monos, behind, since)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)),
       st.dates(min_value=D(1999, 1, 1), max_value=D(2099, 12, 31)))
def test_a_joiner_is_never_expected_more_than_a_member_of_the_whole_year(
    day: dt.date, joined: dt.date
) -> None:
    year = rules.programme_year(day)
    whole = rules.pace(rules.Tally(), day, year)
    late = rules.pace(rules.Tally(), day, year, joined)
    assert late.expected_books <= whole.expected_books
    assert late.expected_monographs <= whole.expected_monographs
    assert (late.joined is None) == (joined <= year.start)


@pytest.mark.parametrize(
    ("day", "joined", "books", "nudged", "why"),
    [
        (D(2026, 7, 1), None, 0, True, "behind, joined at an unknown time"),
        (D(2026, 7, 1), D(2026, 1, 1), 0, True, "behind, joined long ago"),
        (D(2026, 7, 1), D(2026, 1, 1), 3, False, "on pace"),
        (D(2026, 7, 1), D(2026, 6, 24), 0, False, "a week in, but nothing due since joining"),
        (D(2026, 7, 1), D(2026, 6, 26), 0, False, "in the first week"),
        (D(2026, 7, 1), D(2026, 7, 3), 0, False, "joined after the pace day"),
    ],
)
def test_nudged(
    day: dt.date, joined: dt.date | None, books: int, nudged: bool, why: str
) -> None:
    year = rules.programme_year(day)
    p = rules.pace(rules.Tally(books=books), day, year, joined)
    assert rules.nudged(p, day, joined) is nudged, why


def test_no_nudge_in_the_first_week_even_when_behind() -> None:
    # Pace from joining already expects nothing in a week; the rule holds on its own too.
    behind = rules.Pace(share=0.5, expected_books=3, expected_monographs=1, books_behind=3,
                        monographs_behind=1)
    assert rules.nudged(behind, D(2026, 7, 1), D(2026, 6, 25)) is False
    assert rules.nudged(behind, D(2026, 7, 1), D(2026, 6, 24)) is True
    assert rules.nudged(behind, D(2026, 7, 1), None) is True


def test_joined_on_is_the_local_date_of_registration() -> None:
    # 23:30 on 30 November in UTC is already 1 December in Shanghai.
    registered = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    assert rules.joined_on(registered, TZ) == D(2026, 12, 1)
    assert rules.joined_on(None, TZ) is None


REQUIRED = [B(1, "给教师的建议", "苏霍姆林斯基", "required", "education_monograph"),
            B(2, "第五项修炼", "彼得·圣吉", "required", "other")]
ELECTIVE = [B(5, "教育的目的", "怀特海", "elective", "education_monograph")]


@pytest.mark.parametrize(
    ("catalog", "logged", "kind", "book"),
    [
        ([], set(), "no_catalog", None),  # issue 16: not "all required books are logged"
        (REQUIRED + ELECTIVE, set(), "suggest", 1),
        (REQUIRED + ELECTIVE, {1}, "suggest", 2),
        (REQUIRED + ELECTIVE, {1, 2}, "no_suggestion", None),
        (REQUIRED + ELECTIVE, {1, 2, 5}, "own_choice", None),
        (REQUIRED, {1, 2}, "own_choice", None),  # no electives to pick from
        (ELECTIVE, set(), "electives", None),  # no required books at all
        (ELECTIVE, {5}, "own_choice", None),
    ],
)
def test_suggestion_is_true_of_the_catalog(
    catalog: list[B], logged: set[int], kind: str, book: int | None
) -> None:
    found_kind, found = rules.suggestion(catalog, logged, want_monograph=False)
    assert (found_kind, found.pk if found else None) == (kind, book)


# -- input ----------------------------------------------------------------------------------------

YEAR = rules.programme_year(D(2026, 3, 10))
TODAY = D(2026, 3, 10)


@pytest.mark.parametrize(
    ("text", "day", "problem"),
    [
        ("2026-03-01", D(2026, 3, 1), None),
        ("2026/3/1", D(2026, 3, 1), None),
        ("2026.03.01", D(2026, 3, 1), None),
        ("2026年3月1日", D(2026, 3, 1), None),
        ("２０２６－０３－０１", D(2026, 3, 1), None),  # full-width digits
        ("03-01", D(2026, 3, 1), None),
        ("3月1日", D(2026, 3, 1), None),
        ("3/1", D(2026, 3, 1), None),
        ("今天", TODAY, None),
        ("Today", TODAY, None),
        ("昨天", D(2026, 3, 9), None),
        ("yesterday", D(2026, 3, 9), None),
        ("前天", D(2026, 3, 8), None),
        ("2026-03-10", TODAY, None),
        ("2026-03-11", None, "future"),
        ("2025-12-31", None, "before_year"),
        ("12-31", None, "before_year"),  # the latest 12-31 up to today is 2025-12-31
        ("2026-02-30", None, "format"),
        ("13-01", None, "format"),
        ("last week", None, "format"),
        ("", None, "format"),
    ],
)
def test_parse_finished_on(text: str, day: dt.date | None, problem: str | None) -> None:
    assert rules.parse_finished_on(text, TODAY, YEAR) == (day, problem)


def test_short_date_in_a_school_year_reaches_back_across_new_year() -> None:
    year = rules.programme_year(D(2027, 1, 5), (9, 1))
    assert rules.parse_finished_on("12-20", D(2027, 1, 5), year) == (D(2026, 12, 20), None)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("给教师的建议", "《给教师的建议》", True),
        ("给教师的 建议", "给教师的建议", True),
        ("The Fifth Discipline", "the fifth  discipline!", True),
        ("ＡＢＣ", "abc", True),
        ("给教师的建议", "给校长的建议", False),
    ],
)
def test_normalize_title(a: str, b: str, same: bool) -> None:
    assert (rules.normalize_title(a) == rules.normalize_title(b)) is same


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("教师", True),
        ("教师 建议", True),
        ("建议 教师", True),
        ("苏霍姆林斯基", True),  # the author
        ("教师 校长", False),
        ("", False),
        ("《》", False),
    ],
)
def test_matches(query: str, hit: bool) -> None:
    assert rules.matches(query, "给教师的建议", "苏霍姆林斯基") is hit


def test_search_keeps_catalog_order() -> None:
    catalog = [
        B(1, "给教师的建议", "苏霍姆林斯基", "required", "education_monograph"),
        B(2, "给校长的建议", "郑杰", "elective", "education_monograph"),
        B(3, "乡土中国", "费孝通", "elective", "other"),
    ]
    assert [b.pk for b in rules.search(catalog, "建议")] == [1, 2]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("好" * 299, "too_short"),
        ("好" * 300, None),
        (" 好 " * 299, "too_short"),  # spaces do not count
        ("好" * 4000, None),
        ("好" * 4001, "too_long"),
    ],
)
def test_check_reflection(text: str, problem: str | None) -> None:
    assert rules.check_reflection(text, 300) == problem


@pytest.mark.parametrize(
    ("name", "mime", "size", "suffix", "problem"),
    [
        ("心得.docx", "application/octet-stream", 1000, ".docx", None),
        ("心得.PDF", None, 1000, ".pdf", None),
        ("notes.txt", "text/plain", 10, ".txt", None),
        ("../../etc/passwd.txt", "text/plain", 10, ".txt", None),  # only the suffix is used
        ("心得.doc", "application/msword", 1000, None, "type"),
        ("photo.jpg", "image/jpeg", 1000, None, "type"),
        (None, "application/pdf", 1000, ".pdf", None),
        (None, "application/zip", 1000, None, "type"),
        ("big.pdf", "application/pdf", 20 * 1024 * 1024, ".pdf", None),
        ("big.pdf", "application/pdf", 20 * 1024 * 1024 + 1, ".pdf", "too_big"),
        ("big.pdf", "application/pdf", None, ".pdf", None),
    ],
)
def test_check_document(name: str | None, mime: str | None, size: int | None,
                        suffix: str | None, problem: str | None) -> None:
    assert rules.check_document(name, mime, size) == (suffix, problem)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("心得".encode(), "心得"),
        ("\ufeff心得".encode(), "心得"),
        ("心得".encode("gb18030"), "心得"),
    ],
)
def test_decode_text_file(data: bytes, text: str) -> None:
    assert rules.decode_text_file(data) == text


# -- who may do what ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "pk", "group", "owner_pk", "owner_group", "review", "open_"),
    [
        ("hr", 9, None, 1, 10, True, True),
        ("leader", 2, 10, 1, 10, True, True),
        ("leader", 3, 20, 1, 10, False, False),  # another group's leader
        ("leader", 2, 10, 2, 10, False, True),  # own work: not one's own reviewer
        ("trainee", 4, 10, 1, 10, False, False),  # a group mate
        ("trainee", 1, 10, 1, 10, False, True),  # the owner
        ("leader", 5, None, 1, None, False, False),
    ],
)
def test_permissions(role: str, pk: int, group: int | None, owner_pk: int,
                     owner_group: int | None, review: bool, open_: bool) -> None:
    assert rules.may_review(role, pk, group, owner_pk, owner_group) is review
    assert rules.may_open(role, pk, group, owner_pk, owner_group) is open_


@pytest.mark.parametrize(
    ("status", "accept", "return_"),
    [("submitted", True, True), ("accepted", False, True), ("returned", False, False)],
)
def test_transitions(status: str, accept: bool, return_: bool) -> None:
    assert rules.can_accept(status) is accept
    assert rules.can_return(status) is return_


# -- the [reading] config section -----------------------------------------------------------------


def test_reading_config_defaults_and_values() -> None:
    from bot.core.config import parse_config

    assert parse_config({}, env={}).reading.min_reflection_chars == 300
    cfg = parse_config(
        {"reading": {"min_reflection_chars": 50, "review": "required", "year_starts": "09-01",
                     "nudge_day": 5, "nudge_time": "08:30"}},
        env={},
    )
    r = cfg.reading
    assert (r.min_reflection_chars, r.review, r.year_starts, r.nudge_day, r.nudge_time) == (
        50, "required", "09-01", 5, dt.time(8, 30)
    )


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"min_reflection_chars": 0}, "[reading] min_reflection_chars: must be between"),
        ({"min_reflection_chars": 5000}, "[reading] min_reflection_chars: must be between"),
        # The loader's type problems are in the file's language: here the default, zh.
        ({"review": "manual"}, problem(
            "zh", "[reading] review", "wrong_type",
            expected=f"'auto'{t('zh', 'config.type.or')}'required'", value="'manual'")),
        ({"year_starts": "02-29"}, "[reading] year_starts: must be a day of the year as MM-DD"),
        ({"year_starts": "+9-01"}, "[reading] year_starts: must be a day of the year as MM-DD"),
        ({"nudge_day": 29}, "[reading] nudge_day: must be between 0 (off) and 28"),
        ({"nudge_time": "9am"}, problem(
            "zh", "[reading] nudge_time", "wrong_type", expected=t("zh", "config.type.time"),
            value="'9am'")),
    ],
)
def test_reading_config_errors(section: dict[str, object], expected: str) -> None:
    # The config is in the language its expected text is written in (the features' checks
    # and the loader both word problems in the programme's language).
    lang = "en" if expected.isascii() else "zh"
    from bot.core.config import ConfigError
    from bot.features import parse_config  # core's loader with the features' checks

    with pytest.raises(ConfigError) as info:
        parse_config({"reading": section, "program": {"language": lang}}, source="x.toml",
                     env={})
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_reading_views_count_pace_from_when_the_member_joined() -> None:
    """/reading's own progress and the leader's table count from the day a member registered,
    as the nudge and the digest do (issue 16)."""
    from bot.core.config import parse_config
    from bot.reading import views
    from storage.models import Member

    cfg = parse_config({"telegram": {"token": "1:x"}})
    year = rules.programme_year(dt.date(2026, 12, 31), rules.parse_year_starts("01-01"))
    base = dict(pk=1, member_id="T1", name="黄志强", role="trainee", group_id=1,
                group_name="第一组", school="", stage="", active=True, telegram_id=1,
                language="zh", unreachable_at=None)
    early = Member(**base, registered_at="2026-01-01 00:00:00")  # type: ignore[arg-type]
    july = Member(**base, registered_at="2026-07-01 00:00:00")  # type: ignore[arg-type]
    day = dt.date(2026, 12, 31)
    _, whole = views.member_row("zh", cfg, early, [], day, year)
    _, joined = views.member_row("zh", cfg, july, [], day, year)
    assert whole == rules.pace(rules.Tally(), day, year)
    assert joined == rules.pace(rules.Tally(), day, year, dt.date(2026, 7, 1))
    assert joined.expected_books < whole.expected_books
