-- name: user_by_id :one
-- The point select the per-call benchmark runs.
SELECT id, name, email FROM users WHERE id = :id;
