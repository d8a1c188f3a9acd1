DROP INDEX CONCURRENTLY IF EXISTS "agent_chat_messages_search_idx";
