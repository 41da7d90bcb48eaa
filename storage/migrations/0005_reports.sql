-- Activity reports: one per group activity, filed by its host (a draft while being written,
-- then submitted), and the report's photos. Times are UTC text like the rest of the schema;
-- file paths are relative to [storage] files_dir.

CREATE TABLE reports (
    id                     INTEGER PRIMARY KEY,
    activity_pk            INTEGER NOT NULL UNIQUE REFERENCES activities(id),
    -- Who filed (or is filing) it: the activity's host at the time.
    host_pk                INTEGER NOT NULL REFERENCES members(id),
    state                  TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted')),
    studied                TEXT,
    highlights             TEXT,
    -- Optional recommended work: whose, its title, and its text or document.
    recommended_member_pk  INTEGER REFERENCES members(id),
    recommended_title      TEXT,
    recommended_text       TEXT,
    recommended_file       TEXT,
    recommended_file_name  TEXT,
    -- The number of people present as the host states it.
    stated_headcount       INTEGER CHECK (stated_headcount IS NULL OR stated_headcount >= 0),
    -- The roll call as it stood when the report was (last) submitted.
    rc_present             INTEGER,
    rc_late                INTEGER,
    rc_early_leave         INTEGER,
    rc_absent              INTEGER,
    rc_excused             INTEGER,
    due_at                 TEXT,
    submitted_at           TEXT,
    amended_at             TEXT,
    amendments             INTEGER NOT NULL DEFAULT 0,
    late                   INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    CHECK (state = 'draft' OR submitted_at IS NOT NULL)
);
CREATE INDEX reports_host ON reports (host_pk, state);
CREATE INDEX reports_submitted ON reports (state, submitted_at);

-- staged = 1: photos sent while amending a submitted report; they replace the report's photos
-- when the amendment is submitted, and are dropped when it is abandoned.
CREATE TABLE report_photos (
    id              INTEGER PRIMARY KEY,
    report_pk       INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    file_path       TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    file_unique_id  TEXT NOT NULL,
    file_size       INTEGER,
    media_group_id  TEXT,
    staged          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX report_photos_report ON report_photos (report_pk, staged, position);
-- The same photo twice (a resent update, a photo forwarded again) is kept once.
CREATE UNIQUE INDEX report_photos_once ON report_photos (report_pk, staged, file_unique_id);

-- The reminder check's lookup: ended group activities with a host.
CREATE INDEX activities_reportable ON activities (end_at)
    WHERE type = 'group_study' AND status = 'scheduled' AND host_pk IS NOT NULL;
