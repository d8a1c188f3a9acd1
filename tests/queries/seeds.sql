-- Queries over the seeds corpus (tests/corpus/seeds), written for pgstrata's tests (MIT OR Apache-2.0).
-- One statement each; PostgreSQL's prepare is the oracle (tests/tests/it/queries.rs).

SELECT * FROM users WHERE email = $1;
SELECT id, role FROM users WHERE role = $1;
SELECT a."name", count(c.id) FROM agents a LEFT JOIN conversations c ON c."agentId" = a.id GROUP BY a."name";
SELECT * FROM messages WHERE "conversationId" = $1 ORDER BY "timestamp";
SELECT m."content", c."title" FROM messages m JOIN conversations c ON c.id = m."conversationId" WHERE c."agentId" = $1;
INSERT INTO messages (id, "conversationId", role, content, "tokensInput") VALUES ($1, $2, $3, $4, $5) RETURNING "timestamp";
UPDATE conversations SET "messageCount" = "messageCount" + 1, "tokenCount" = "tokenCount" + $1 WHERE id = $2;
SELECT "userId", "year", "month", "totalCost" FROM monthly_usage WHERE "userId" = $1 AND "year" = $2;
SELECT "type", count(*) FROM usage_alerts WHERE NOT triggered GROUP BY "type";
INSERT INTO usage_alerts (id, "userId", "type", threshold) VALUES ($1, $2, $3, $4);
SELECT status, count(*) FROM invitations GROUP BY status;
UPDATE invitations SET status = 'ACCEPTED', "acceptedAt" = now() WHERE token = $1 RETURNING id;
DELETE FROM verification_tokens WHERE expires < now();
SELECT "agentUsage" -> $1 FROM monthly_usage;
SELECT tags FROM artifacts WHERE tags ? $1;
SELECT "version", "parentId" FROM artifacts WHERE id = $1;
SELECT location_name FROM storage_locations WHERE location_type = $1 AND current_utilization > $2;
SELECT sum("costInput" + "costOutput") FROM usage_logs WHERE "timestamp" >= $1;
SELECT count(*) FILTER (WHERE success) AS ok, count(*) FILTER (WHERE NOT success) AS failed FROM usage_logs;
SELECT u.email, a.provider FROM users u JOIN accounts a ON a."userId" = u.id WHERE a."providerAccountId" = $1;
