-- Settlement batches already written, so a batch retried after an ambiguous failure (its
-- commit may have happened, e.g. D1's answer lost) is recognised and not applied twice.
CREATE TABLE ledger_batches (
    id TEXT PRIMARY KEY,
    written_at BIGINT NOT NULL
);
CREATE INDEX idx_ledger_batches_written_at ON ledger_batches (written_at);
