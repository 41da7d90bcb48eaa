-- Dialogs: the state of a half-finished multi-step input (bot/dialog.py), one row per Telegram
-- user who has one, so a restart resumes it. Written after the update that changed it (in the
-- transaction that deletes the update's inbox row), deleted when the dialog ends; rows older
-- than [dialog] resume_hours are dropped at start. state: the dialog's dict as JSON.

CREATE TABLE dialogs (
    user_id     INTEGER PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
