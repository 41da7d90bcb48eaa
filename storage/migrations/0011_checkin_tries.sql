-- Wrong check-in codes, to stop guessing (bot.attendance.code_locked_until): one row per wrong
-- code a member typed for an activity. Kept in the database so a restart does not reset the
-- count; a member's rows older than the window are pruned when the next one is recorded.

CREATE TABLE checkin_tries (
    id           INTEGER PRIMARY KEY,
    activity_pk  INTEGER NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    member_pk    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    at           TEXT NOT NULL
);

CREATE INDEX checkin_tries_member_activity ON checkin_tries (member_pk, activity_pk, at);
