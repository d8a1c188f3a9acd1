-- Full-text search over chat messages: a generated tsvector column (its GIN index is
-- built in the next migration, CONCURRENTLY).
-- pgstrata:lock-timeout 5s

-- pgstrata:allow(volatile-default) computing the column rewrites agent_chat_messages once; it ships while the table is small
ALTER TABLE "agent_chat_messages"
    ADD COLUMN "search" tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce("content", ''))) STORED;
