-- Daily usage per user, key, model and channel for log rows that retention has removed:
-- the retention job moves expired rows here in the same transaction that deletes them,
-- so statistics over any range are rollups (expired days) plus raw rows (the rest).
CREATE TABLE usage_daily (
    day BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    token_id BIGINT NOT NULL DEFAULT 0,
    token_name TEXT NOT NULL DEFAULT '',
    model_name TEXT NOT NULL DEFAULT '',
    channel_id BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    quota BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, user_id, token_id, model_name, channel_id)
);
CREATE INDEX idx_usage_daily_user_day ON usage_daily (user_id, day);

-- One row; every retention batch updates it first, which serialises concurrent batches
-- (several replicas) so no expired row is rolled up twice.
CREATE TABLE retention_state (
    id BIGINT PRIMARY KEY,
    last_run BIGINT NOT NULL DEFAULT 0
);
INSERT INTO retention_state (id, last_run) VALUES (1, 0);
