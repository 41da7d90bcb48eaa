-- Issue 16: credits judged on the right evidence.
--
-- Rule-1 proposals stay open to their evidence until the year is decided (`[exit]
-- decide_after_days` after it ends): a proposal whose total or line changed is updated in
-- place, and the card says when. NULL: the evidence is as first proposed.
ALTER TABLE exit_proposals ADD COLUMN evidence_changed_at TEXT;

-- Hosting counts only for an activity that took place under the bot (its roll call closed
-- with at least one member there) or whose report was filed, so the host's source
-- 'host:<activity>' now also depends on the activity's roll-call records and its report:
-- they mark it for the ledger reconciliation like the activity itself does (migration 0010).
-- Existing ledgers are recomputed by the next sync: every migration changes the schema
-- version the reconciliation fingerprints, which makes that sync a full comparison.
-- (Only for a hosted activity: an activity given a host later is marked by its own trigger.)
CREATE TRIGGER credit_dirty_host_attendance_insert AFTER INSERT ON attendance
WHEN EXISTS (SELECT 1 FROM activities WHERE id = NEW.activity_pk AND host_pk IS NOT NULL)
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', NEW.activity_pk, 0);
END;

CREATE TRIGGER credit_dirty_host_attendance_update AFTER UPDATE ON attendance
WHEN (OLD.status IS NOT NEW.status OR OLD.activity_pk IS NOT NEW.activity_pk)
    AND EXISTS (SELECT 1 FROM activities WHERE id IN (OLD.activity_pk, NEW.activity_pk)
                AND host_pk IS NOT NULL)
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', OLD.activity_pk, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', NEW.activity_pk, 0);
END;

CREATE TRIGGER credit_dirty_host_attendance_delete AFTER DELETE ON attendance
WHEN EXISTS (SELECT 1 FROM activities WHERE id = OLD.activity_pk AND host_pk IS NOT NULL)
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', OLD.activity_pk, 0);
END;

CREATE TRIGGER credit_dirty_host_report_insert AFTER INSERT ON reports
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', NEW.activity_pk, 0);
END;

CREATE TRIGGER credit_dirty_host_report_update AFTER UPDATE ON reports
WHEN OLD.activity_pk IS NOT NEW.activity_pk OR OLD.state IS NOT NEW.state
    OR OLD.submitted_at IS NOT NEW.submitted_at
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', OLD.activity_pk, 0);
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', NEW.activity_pk, 0);
END;

CREATE TRIGGER credit_dirty_host_report_delete AFTER DELETE ON reports
BEGIN
    INSERT INTO credit_dirty (prefix, ref, member_pk) VALUES ('host:', OLD.activity_pk, 0);
END;
