DROP INDEX "agent_chat_messages_search_idx";
ALTER TABLE "agent_chat_messages" DROP COLUMN "search";
