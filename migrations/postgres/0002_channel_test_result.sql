-- The outcome of the last channel test, kept so the console shows failures too
-- (test_at and response_time_ms alone only told about successes).
-- test_success: NULL = never tested, 1 = passed, 0 = failed.
ALTER TABLE channels ADD COLUMN test_success BIGINT;
ALTER TABLE channels ADD COLUMN test_error TEXT NOT NULL DEFAULT '';
