-- Prompt-cache and reasoning tokens on the log row (parts of prompt_tokens and
-- completion_tokens, never added to them) and the ratios the quota was computed with.
ALTER TABLE logs ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN price TEXT NOT NULL DEFAULT '';
