-- Built without blocking writes to agent_sessions. PostgreSQL refuses CONCURRENTLY
-- inside a transaction, so pgstrata runs this migration outside one.
-- pgstrata:lock-timeout 5s
CREATE INDEX CONCURRENTLY IF NOT EXISTS "agent_sessions_ended_at_idx"
    ON "agent_sessions" ("ended_at");
