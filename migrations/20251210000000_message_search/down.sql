ALTER TABLE "agent_chat_messages" DROP COLUMN "search";
