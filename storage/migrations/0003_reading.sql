-- Reading: the book catalog, study outputs (books read with reflections, papers, reflections /
-- work thinking, the annual management analysis), their review history, and monthly nudges.
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS'; dates (finished_on) are local 'YYYY-MM-DD'.

CREATE TABLE books (
    id          INTEGER PRIMARY KEY,
    book_id     TEXT NOT NULL,
    year        INTEGER NOT NULL,
    title       TEXT NOT NULL,
    title_norm  TEXT NOT NULL,
    author      TEXT NOT NULL DEFAULT '',
    list        TEXT NOT NULL CHECK (list IN ('required', 'elective')),
    category    TEXT NOT NULL CHECK (category IN ('education_monograph', 'other')),
    -- 0 once a later import of the same year no longer lists it (readings keep pointing here).
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (year, book_id)
);
CREATE INDEX books_year ON books (year, active, list);

CREATE TABLE reading_submissions (
    id              INTEGER PRIMARY KEY,
    member_pk       INTEGER NOT NULL REFERENCES members(id),
    -- The programme year (labelled by the calendar year it starts in).
    year            INTEGER NOT NULL,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('book', 'paper', 'reflection', 'management_analysis')),
    book_pk         INTEGER REFERENCES books(id),
    title           TEXT NOT NULL,
    title_norm      TEXT NOT NULL,
    monograph       INTEGER NOT NULL DEFAULT 0,
    finished_on     TEXT,
    body            TEXT,
    -- A document: path relative to [storage] files_dir, the sender's file name, size, sha256.
    file_path       TEXT,
    file_name       TEXT,
    file_size       INTEGER,
    file_sha256     TEXT,
    status          TEXT NOT NULL DEFAULT 'submitted'
                    CHECK (status IN ('submitted', 'accepted', 'returned')),
    revision        INTEGER NOT NULL DEFAULT 1,
    submitted_at    TEXT NOT NULL,
    reviewed_at     TEXT,
    reviewed_by     INTEGER REFERENCES members(id),
    review_comment  TEXT,
    created_at      TEXT NOT NULL,
    CHECK (body IS NOT NULL OR file_path IS NOT NULL)
);
-- The same book (or output title) once a year per member; a catalog book also by its row.
CREATE UNIQUE INDEX reading_once ON reading_submissions (member_pk, year, kind, title_norm);
CREATE UNIQUE INDEX reading_book_once ON reading_submissions (member_pk, year, book_pk)
    WHERE book_pk IS NOT NULL;
CREATE INDEX reading_year ON reading_submissions (year, status);

-- Every submission, resubmission, acceptance and return, with the content of each revision.
CREATE TABLE reading_events (
    id             INTEGER PRIMARY KEY,
    submission_id  INTEGER NOT NULL REFERENCES reading_submissions(id),
    at             TEXT NOT NULL,
    actor_pk       INTEGER REFERENCES members(id),
    action         TEXT NOT NULL
                   CHECK (action IN ('submitted', 'resubmitted', 'accepted', 'returned')),
    comment        TEXT,
    body           TEXT,
    file_path      TEXT
);
CREATE INDEX reading_events_submission ON reading_events (submission_id, at);

-- One gentle reminder per member per calendar month ('YYYY-MM').
CREATE TABLE reading_nudges (
    member_pk  INTEGER NOT NULL REFERENCES members(id),
    month      TEXT NOT NULL,
    at         TEXT NOT NULL,
    behind     INTEGER NOT NULL,
    PRIMARY KEY (member_pk, month)
);
CREATE INDEX reading_nudges_month ON reading_nudges (month);
