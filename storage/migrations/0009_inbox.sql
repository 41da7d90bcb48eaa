-- The inbox: every update fetched from Telegram (or posted to the webhook) is written here
-- before it is confirmed (the next getUpdates offset, or the webhook's 200), and deleted once
-- its handling has finished. What a crash leaves here is replayed at the next start, in
-- update_id order. payload: the update's JSON as Telegram sent it. attempts: how many times
-- the row was replayed after a restart (a row that keeps killing the process is dropped).

CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);

-- The getUpdates offset written with each batch (one row): the first getUpdates after a
-- restart confirms what the inbox already holds, so it is not fetched (and handled) again.
CREATE TABLE inbox_offset (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    next_update_id  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL
);
