-- Reminders and digests: trainees' mute ranges, which activity reminders were dealt with, and
-- the digest runs (what each digest covered, so the next one covers everything since).
-- Times are UTC text; mute days are local dates 'YYYY-MM-DD', both ends included.

CREATE TABLE reminder_mutes (
    id          INTEGER PRIMARY KEY,
    member_pk   INTEGER NOT NULL REFERENCES members(id),
    start_on    TEXT NOT NULL,
    end_on      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CHECK (end_on >= start_on)
);
CREATE INDEX reminder_mutes_member ON reminder_mutes (member_pk, end_on);

-- One row per activity, reminder kind and start time (a moved activity is reminded again for
-- its new time): written in the transaction that queues the reminders, so a restart at any
-- moment neither repeats nor loses them.
CREATE TABLE activity_reminders (
    activity_pk  INTEGER NOT NULL REFERENCES activities(id),
    kind         TEXT NOT NULL CHECK (kind IN ('day_before', 'soon')),
    start_at     TEXT NOT NULL,
    done_at      TEXT NOT NULL,
    queued       INTEGER NOT NULL,
    PRIMARY KEY (activity_pk, kind, start_at)
);

-- kind: 'hr' (daily), 'leader' (weekly, scope = group id), 'trainee' (weekly, scope = member
-- pk). period: the local date (daily) or ISO week 'YYYY-Www' (weekly). status: 'sent' (queued to
-- its recipients), 'skipped' (nobody to send to, or muted), 'baseline' (the first check after
-- installation: nothing is sent for periods before the bot existed).
CREATE TABLE digest_runs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('hr', 'leader', 'trainee')),
    scope         TEXT NOT NULL,
    period        TEXT NOT NULL,
    covered_from  TEXT NOT NULL,
    covered_to    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('sent', 'skipped', 'baseline')),
    messages      INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT NOT NULL,
    UNIQUE (kind, scope, period)
);
CREATE INDEX digest_runs_latest ON digest_runs (kind, scope, covered_to);

-- The reminder check runs every tick over activities not yet over; digests read by end time.
CREATE INDEX activities_end ON activities (end_at);
CREATE INDEX reading_submitted ON reading_submissions (submitted_at);
