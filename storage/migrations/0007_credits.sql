-- Credits: an append-only ledger (totals are sums), the inputs of the exit rules HR imports
-- (exam results, workplace satisfaction votes, supervision rankings), the exit proposals HR
-- decides, and the programme years whose credit rule was settled at year end.
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS'; on_date is a local date 'YYYY-MM-DD'.

CREATE TABLE credit_ledger (
    id          INTEGER PRIMARY KEY,
    member_pk   INTEGER NOT NULL REFERENCES members(id),
    on_date     TEXT NOT NULL,
    points      REAL NOT NULL,
    -- What the points are for: 'attendance.present', 'reading.book', 'host', 'adjust', ...
    rule        TEXT NOT NULL,
    -- Where they came from: 'attendance:<activity pk>', 'reading:<submission pk>',
    -- 'report:<report pk>', 'recommended:<report pk>', 'host:<activity pk>',
    -- 'exam:<semester>', 'adjust:<n>'. The sum per (member, source) is what the source is worth.
    source      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    -- NULL: written by the ledger reconciliation (or the command line).
    actor_pk    INTEGER REFERENCES members(id),
    created_at  TEXT NOT NULL,
    -- The programme year (labelled by the calendar year it starts in) on_date falls in.
    year        INTEGER NOT NULL
);
CREATE INDEX credit_ledger_member_year ON credit_ledger (member_pk, year, on_date, points);
CREATE INDEX credit_ledger_source ON credit_ledger (source, member_pk, year, points);
CREATE INDEX credit_ledger_year ON credit_ledger (year, member_pk, points);

CREATE TABLE exam_results (
    member_pk    INTEGER NOT NULL REFERENCES members(id),
    semester     TEXT NOT NULL,
    score        REAL NOT NULL,
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (member_pk, semester)
);

CREATE TABLE satisfaction_votes (
    member_pk    INTEGER NOT NULL REFERENCES members(id),
    year         INTEGER NOT NULL,
    -- A share between 0 and 1 (the file says percent: 85 -> 0.85).
    share        REAL NOT NULL,
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (member_pk, year)
);

CREATE TABLE supervision_ranks (
    member_pk    INTEGER NOT NULL REFERENCES members(id),
    period       TEXT NOT NULL,
    rank         INTEGER NOT NULL CHECK (rank >= 1),
    total        INTEGER NOT NULL CHECK (total >= rank),
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (member_pk, period)
);
CREATE INDEX supervision_ranks_period ON supervision_ranks (period);

CREATE TABLE exit_proposals (
    id            INTEGER PRIMARY KEY,
    member_pk     INTEGER NOT NULL REFERENCES members(id),
    rule          TEXT NOT NULL CHECK (rule IN ('credits', 'exams', 'satisfaction', 'supervision')),
    -- What the rule was judged on: the programme year, the semester or the period.
    period        TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    -- 'withdrawn': the inputs were corrected and the rule no longer holds.
    state         TEXT NOT NULL DEFAULT 'open'
                  CHECK (state IN ('open', 'confirmed', 'dismissed', 'withdrawn')),
    -- The outbox rows that told HR (their buttons are edited once it is decided).
    notices       TEXT NOT NULL DEFAULT '[]',
    created_at    TEXT NOT NULL,
    decided_by    INTEGER REFERENCES members(id),
    decided_at    TEXT,
    -- A decided proposal is never made again for the same member, rule and period.
    UNIQUE (member_pk, rule, period)
);
CREATE INDEX exit_proposals_state ON exit_proposals (state, created_at);

CREATE TABLE credit_years (
    year       INTEGER PRIMARY KEY,
    line       REAL NOT NULL,
    closed_at  TEXT NOT NULL
);
