-- Foundation: groups, members, invites, registration attempts, outbox, audit log.
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS' (sortable, readable in the sqlite3 shell).

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE members (
    id                  INTEGER PRIMARY KEY,
    member_id           TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('trainee', 'leader', 'hr')),
    group_id            INTEGER REFERENCES groups(id),
    school              TEXT NOT NULL DEFAULT '',
    stage               TEXT NOT NULL DEFAULT '',
    active              INTEGER NOT NULL DEFAULT 1,
    telegram_id         INTEGER UNIQUE,
    language            TEXT,
    registered_at       TEXT,
    unreachable_at      TEXT,
    unreachable_reason  TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX members_group ON members (group_id, role, active);
CREATE INDEX members_role ON members (role, active);

CREATE TABLE invites (
    member_pk   INTEGER PRIMARY KEY REFERENCES members(id),
    code        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER
);

CREATE TABLE code_attempts (
    id           INTEGER PRIMARY KEY,
    telegram_id  INTEGER NOT NULL,
    at           TEXT NOT NULL,
    ok           INTEGER NOT NULL
);
CREATE INDEX code_attempts_user ON code_attempts (telegram_id, at);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    member_pk   INTEGER REFERENCES members(id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    dedupe_key  TEXT UNIQUE,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'failed', 'unreachable')),
    not_before  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    message_id  INTEGER,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_member ON outbox (member_pk, status);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_pk  INTEGER REFERENCES members(id),
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    reason    TEXT
);
CREATE INDEX audit_subject ON audit_log (subject, at);
