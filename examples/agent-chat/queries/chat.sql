-- name: start_session :one
-- Opens a session; its status and times take the columns' defaults.
INSERT INTO agent_sessions (id, module_type, module_session_id, current_agent)
VALUES (:id, :module_type, :module_session_id, :current_agent)
RETURNING *;

-- name: add_message :exec
INSERT INTO agent_chat_messages (id, session_id, role, agent_id, content, metadata)
VALUES (:id, :session_id, :role, :agent_id, :content, :metadata);

-- name: search_messages :many
-- Messages matching a full-text query, best match first.
SELECT m.id, m.role, m.content, s.module_type,
       ts_rank(m.search, plainto_tsquery('simple', :words)) AS rank
FROM agent_chat_messages m
JOIN agent_sessions s ON s.id = m.session_id
WHERE m.search @@ plainto_tsquery('simple', :words)
ORDER BY rank DESC
LIMIT :limit;

-- name: session_messages :many
SELECT id, session_id, role, agent_id, content, metadata, created_at
FROM agent_chat_messages
WHERE session_id = :session_id
ORDER BY created_at;

-- name: active_sessions :one
SELECT count(*) AS sessions, max(last_activity_at) AS last_activity
FROM agent_sessions
WHERE status = 'ACTIVE';

-- name: end_session :rows
UPDATE agent_sessions SET status = 'COMPLETED', ended_at = now()
WHERE id = :id AND ended_at IS NULL;
