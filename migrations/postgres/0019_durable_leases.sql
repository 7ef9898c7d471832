-- Crash-safe reservations. Every replica sharing the database has a row here, refreshed by
-- its heartbeat; a replica whose heartbeat is stale is dead and its leases are returned.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
-- Quota a replica took from a balance (holder_kind 0: tokens.remain_quota, 1: users.quota)
-- and has not yet settled or given back. Written in the same statement or batch as the
-- balance change it mirrors, so after a crash exactly this much goes back.
CREATE TABLE quota_leases (
    replica_id TEXT NOT NULL,
    holder_kind BIGINT NOT NULL,
    holder_id BIGINT NOT NULL,
    outstanding BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (replica_id, holder_kind, holder_id)
);
