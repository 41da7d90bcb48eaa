-- Leave requests: asked before an activity, routed to the group leader or HR, decided once.
-- state: pending -> approved | rejected | withdrawn; approved -> withdrawn (before the start)
-- or void (the trainee checked in anyway); pending -> void likewise. `late` marks a request
-- recorded after the cutoff (HR's /excuse) or approved after the roll call had closed.

CREATE TABLE leave_requests (
    id             INTEGER PRIMARY KEY,
    member_pk      INTEGER NOT NULL REFERENCES members(id),
    activity_pk    INTEGER NOT NULL REFERENCES activities(id),
    reason         TEXT NOT NULL,
    route          TEXT NOT NULL CHECK (route IN ('leader', 'hr')),
    approver_pk    INTEGER REFERENCES members(id),
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn', 'void')),
    late           INTEGER NOT NULL DEFAULT 0,
    decided_by     INTEGER REFERENCES members(id),
    decided_at     TEXT,
    decision_note  TEXT NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES members(id),
    reminded_at    TEXT,
    escalated_at   TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
-- At most one open (pending or approved) request per member and activity, however many race.
CREATE UNIQUE INDEX leave_requests_open ON leave_requests (member_pk, activity_pk)
    WHERE state IN ('pending', 'approved');
CREATE INDEX leave_requests_member ON leave_requests (member_pk, created_at);
CREATE INDEX leave_requests_activity ON leave_requests (activity_pk, state);
CREATE INDEX leave_requests_pending ON leave_requests (route, approver_pk) WHERE state = 'pending';

-- The approvers' messages about a request (outbox rows), edited once it is decided.
CREATE TABLE leave_notices (
    request_id  INTEGER NOT NULL REFERENCES leave_requests(id),
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    PRIMARY KEY (request_id, outbox_id)
);
