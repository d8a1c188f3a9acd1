DROP INDEX CONCURRENTLY IF EXISTS "agent_sessions_ended_at_idx";
