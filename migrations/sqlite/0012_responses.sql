-- The Responses API (issue 13): which channel created a stored response and who owns
-- it, so previous_response_id and GET/DELETE /v1/responses/{id} reach that channel and
-- nobody else's ids; the channel flag for OpenAI-compatible upstreams serving
-- /v1/responses; the endpoint a log row belongs to.
CREATE TABLE response_owners (
    response_id TEXT PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX idx_response_owners_created ON response_owners(created_at);
ALTER TABLE channels ADD COLUMN responses_api INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE logs ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
