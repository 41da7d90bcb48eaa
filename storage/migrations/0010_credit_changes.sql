-- Precise change tracking for the credit ledger reconciliation (bot.credit_sync).
--
-- Triggers on the tables the ledger is derived from record which ledger sources may be worth
-- something else now: (prefix, ref) names the source prefix || ref, e.g. ('attendance:', 12)
-- is 'attendance:12'; member_pk 0 stands for every member of that source. Only a change of a
-- column the ledger reads marks anything, so writes to other tables (outbox, audit, inbox,
-- reminders) and to other columns (a check-out time, a report's draft text) cost the sync
-- nothing. The sync recomputes the marked sources, appends the differences and empties the
-- table in one transaction.
--
-- A mark is a plain append (no uniqueness to check: a bulk import of roll calls stays fast);
-- the sync folds repeated marks. A source table added later needs its own triggers here (or
-- the sync misses its changes until the next full comparison, which every migration and every
-- change of the rules forces).

CREATE TABLE credit_dirty (
    id         INTEGER PRIMARY KEY,
    prefix     TEXT NOT NULL,
    ref        NOT NULL,
    member_pk  INTEGER NOT NULL
);

-- What the last full comparison was made with (the prices, the time zone and the schema
-- version, as bot.credit_sync fingerprints them): when it differs, the next sync compares all.
CREATE TABLE credit_sync_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rules      TEXT NOT NULL,
    synced_at  TEXT NOT NULL
);

-- Roll-call records: 'attendance:<activity>' of the member.
CREATE TRIGGER credit_dirty_attendance_insert AFTER INSERT ON attendance
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', NEW.activity_pk, NEW.member_pk);
END;

CREATE TRIGGER credit_dirty_attendance_update AFTER UPDATE ON attendance
WHEN OLD.status IS NOT NEW.status OR OLD.activity_pk IS NOT NEW.activity_pk
    OR OLD.member_pk IS NOT NEW.member_pk
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', OLD.activity_pk, OLD.member_pk);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', NEW.activity_pk, NEW.member_pk);
END;

CREATE TRIGGER credit_dirty_attendance_delete AFTER DELETE ON attendance
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', OLD.activity_pk, OLD.member_pk);
END;

-- Activities: their date, label, state and host price every record of them and the hosting.
CREATE TRIGGER credit_dirty_activity_insert AFTER INSERT ON activities
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', NEW.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('host:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_activity_update AFTER UPDATE ON activities
WHEN OLD.id IS NOT NEW.id OR OLD.status IS NOT NEW.status OR OLD.start_at IS NOT NEW.start_at
    OR OLD.activity_id IS NOT NEW.activity_id OR OLD.title IS NOT NEW.title
    OR OLD.host_pk IS NOT NEW.host_pk OR OLD.closed_at IS NOT NEW.closed_at
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('host:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', NEW.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('host:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_activity_delete AFTER DELETE ON activities
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('attendance:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('host:', OLD.id, 0);
END;

-- Reading submissions: 'reading:<submission>'.
CREATE TRIGGER credit_dirty_reading_insert AFTER INSERT ON reading_submissions
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('reading:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_reading_update AFTER UPDATE ON reading_submissions
WHEN OLD.id IS NOT NEW.id OR OLD.member_pk IS NOT NEW.member_pk OR OLD.kind IS NOT NEW.kind
    OR OLD.monograph IS NOT NEW.monograph OR OLD.finished_on IS NOT NEW.finished_on
    OR OLD.submitted_at IS NOT NEW.submitted_at OR OLD.status IS NOT NEW.status
    OR OLD.title IS NOT NEW.title
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('reading:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('reading:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_reading_delete AFTER DELETE ON reading_submissions
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('reading:', OLD.id, 0);
END;

-- Activity reports: 'report:<report>' (the host's points) and 'recommended:<report>'.
CREATE TRIGGER credit_dirty_report_insert AFTER INSERT ON reports
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('report:', NEW.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('recommended:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_report_update AFTER UPDATE ON reports
WHEN OLD.id IS NOT NEW.id OR OLD.host_pk IS NOT NEW.host_pk OR OLD.state IS NOT NEW.state
    OR OLD.submitted_at IS NOT NEW.submitted_at OR OLD.late IS NOT NEW.late
    OR OLD.due_at IS NOT NEW.due_at
    OR OLD.recommended_member_pk IS NOT NEW.recommended_member_pk
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('report:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('recommended:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('report:', NEW.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('recommended:', NEW.id, 0);
END;

CREATE TRIGGER credit_dirty_report_delete AFTER DELETE ON reports
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('report:', OLD.id, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('recommended:', OLD.id, 0);
END;

-- Exam results: 'exam:<semester>' of the member.
CREATE TRIGGER credit_dirty_exam_insert AFTER INSERT ON exam_results
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('exam:', NEW.semester, NEW.member_pk);
END;

CREATE TRIGGER credit_dirty_exam_update AFTER UPDATE ON exam_results
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('exam:', OLD.semester, OLD.member_pk);
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('exam:', NEW.semester, NEW.member_pk);
END;

CREATE TRIGGER credit_dirty_exam_delete AFTER DELETE ON exam_results
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk)
        VALUES ('exam:', OLD.semester, OLD.member_pk);
END;
