-- Attendance: activities (imported or scheduled in chat), one roll-call record per participant,
-- and the audit trail of corrections. Times are UTC text like the rest of the schema.

CREATE TABLE activities (
    id           INTEGER PRIMARY KEY,
    activity_id  TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL CHECK (type IN ('group_study', 'collective', 'exam', 'online')),
    title        TEXT NOT NULL,
    group_id     INTEGER REFERENCES groups(id),
    start_at     TEXT NOT NULL,
    end_at       TEXT NOT NULL,
    location     TEXT NOT NULL DEFAULT '',
    lat          REAL,
    lon          REAL,
    radius_m     INTEGER,
    host_pk      INTEGER REFERENCES members(id),
    status       TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    closed_at    TEXT,
    secret       TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT 'import' CHECK (source IN ('import', 'chat')),
    created_by   INTEGER REFERENCES members(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX activities_start ON activities (start_at);
CREATE INDEX activities_group_start ON activities (group_id, start_at);
CREATE INDEX activities_to_close ON activities (end_at) WHERE closed_at IS NULL AND status = 'scheduled';
CREATE INDEX activities_host ON activities (host_pk, start_at);

CREATE TABLE attendance (
    id           INTEGER PRIMARY KEY,
    activity_pk  INTEGER NOT NULL REFERENCES activities(id),
    member_pk    INTEGER NOT NULL REFERENCES members(id),
    status       TEXT NOT NULL
                 CHECK (status IN ('present', 'late', 'early_leave', 'absent', 'excused')),
    checkin_at   TEXT,
    checkout_at  TEXT,
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL
                 CHECK (source IN ('code', 'qr', 'online', 'close', 'correction', 'leave')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (activity_pk, member_pk)
);
CREATE INDEX attendance_member ON attendance (member_pk, activity_pk);

CREATE TABLE attendance_corrections (
    id           INTEGER PRIMARY KEY,
    activity_pk  INTEGER NOT NULL REFERENCES activities(id),
    member_pk    INTEGER NOT NULL REFERENCES members(id),
    old_status   TEXT,
    new_status   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    actor_pk     INTEGER NOT NULL REFERENCES members(id),
    at           TEXT NOT NULL
);
CREATE INDEX attendance_corrections_record ON attendance_corrections (activity_pk, member_pk, at);
