//! Filled in by the Redis commit.
