-- Full-text search over chat messages: a generated tsvector column and its GIN index.
ALTER TABLE "agent_chat_messages"
    ADD COLUMN "search" tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce("content", ''))) STORED;

CREATE INDEX "agent_chat_messages_search_idx"
    ON "agent_chat_messages" USING GIN ("search");
