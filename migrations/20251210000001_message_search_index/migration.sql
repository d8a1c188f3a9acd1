-- The search column's GIN index, built without blocking writes to agent_chat_messages.
-- PostgreSQL refuses CONCURRENTLY inside a transaction, so pgstrata runs this outside one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "agent_chat_messages_search_idx"
    ON "agent_chat_messages" USING GIN ("search");
