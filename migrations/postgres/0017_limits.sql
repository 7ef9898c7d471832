-- Operator limits (issue 17): 0 means no limit. Budgets are in quota units per calendar period.
ALTER TABLE tokens ADD COLUMN tokens_per_minute BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN max_concurrency BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN daily_budget BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN weekly_budget BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN monthly_budget BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN rate_limit_per_minute BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN tokens_per_minute BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN max_concurrency BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN daily_budget BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN weekly_budget BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN monthly_budget BIGINT NOT NULL DEFAULT 0;
-- Upstream keys (one per line in a channel's key) refused with 401/403, by fingerprint.
ALTER TABLE channels ADD COLUMN disabled_keys TEXT NOT NULL DEFAULT '[]';
