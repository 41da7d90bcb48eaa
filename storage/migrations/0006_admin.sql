-- HR's desk: announcements (their delivery is counted from the outbox rows of kind
-- 'announce:<id>') and the progress message HR sees being updated.

CREATE TABLE announcements (
    id                   INTEGER PRIMARY KEY,
    author_pk            INTEGER NOT NULL REFERENCES members(id),
    audience             TEXT NOT NULL CHECK (audience IN ('all', 'leaders', 'group')),
    group_id             INTEGER REFERENCES groups(id),
    text                 TEXT NOT NULL,
    recipients           INTEGER NOT NULL,
    not_registered       INTEGER NOT NULL,
    progress_chat_id     INTEGER,
    progress_message_id  INTEGER,
    finished_at          TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX outbox_kind ON outbox (kind, status);
