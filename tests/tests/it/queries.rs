//! The oracle for typed queries is PostgreSQL's own `prepare`: every query of this
//! corpus is described by pgstrata from the migrations alone, then prepared on a server
//! where the migrations were applied, and the parameter and result column types must
//! be the ones the server reports (`Statement::params()`, `Statement::columns()`).

use std::path::{Path, PathBuf};

use pgstrata_codegen::query::{describe, types::pg_name};
use pgstrata_testkit::fresh_db;

use crate::support::{corpus, load};

/// Queries over the project's migrations (the agent-chat platform).
pub(crate) const PROJECT: &[&str] = &[
    "SELECT * FROM agent_sessions WHERE id = $1",
    "SELECT id, session_id, role, content, created_at FROM agent_chat_messages WHERE session_id = $1 ORDER BY created_at",
    "SELECT m.id AS message_id, s.status FROM agent_chat_messages m JOIN agent_sessions s ON s.id = m.session_id WHERE s.module_type = $1",
    "SELECT s.id, m.content FROM agent_sessions s LEFT JOIN agent_chat_messages m ON m.session_id = s.id",
    "SELECT s.id, m.content FROM agent_chat_messages m RIGHT JOIN agent_sessions s ON m.session_id = s.id",
    "SELECT s.id, m.id FROM agent_sessions s FULL JOIN agent_chat_messages m ON m.session_id = s.id",
    "SELECT count(*) FROM agent_chat_messages WHERE session_id = $1",
    "SELECT session_id, count(*) AS n, max(created_at) AS last FROM agent_chat_messages GROUP BY session_id HAVING count(*) > $1",
    "SELECT * FROM agent_chat_messages ORDER BY created_at DESC LIMIT $1 OFFSET $2",
    "SELECT id FROM agent_chat_messages WHERE role = $1 AND agent_id IS NOT NULL",
    "SELECT id FROM agent_chat_messages WHERE role IN ($1, $2)",
    "SELECT id FROM agent_chat_messages WHERE id = ANY($1)",
    "SELECT id FROM agent_chat_messages WHERE $1 = ANY(ARRAY[id, session_id])",
    "SELECT id FROM agent_sessions WHERE status = 'ACTIVE'",
    "SELECT id, metadata -> 'tokens' AS tokens, metadata ->> 'model' AS model FROM agent_chat_messages",
    "SELECT id FROM agent_chat_messages WHERE metadata @> $1",
    "SELECT id FROM agent_chat_messages WHERE metadata ? $1",
    "SELECT id FROM agent_chat_messages WHERE search @@ plainto_tsquery('simple', $1)",
    "SELECT id, ts_rank(search, plainto_tsquery('simple', $1)) AS rank FROM agent_chat_messages ORDER BY rank DESC",
    "SELECT lower(content), upper(content), length(content) FROM agent_chat_messages",
    "SELECT date_trunc('day', created_at) AS day, count(*) FROM agent_chat_messages GROUP BY 1",
    "SELECT now(), current_timestamp, current_date",
    "SELECT gen_random_uuid()",
    "SELECT coalesce(agent_id, 'none') AS agent, nullif(workflow_step, '') FROM agent_sessions s JOIN agent_chat_messages m ON m.session_id = s.id",
    "SELECT CASE WHEN ended_at IS NULL THEN 'open' ELSE 'closed' END AS state FROM agent_sessions",
    "SELECT CASE status WHEN 'ACTIVE' THEN 1 WHEN 'PAUSED' THEN 2 ELSE 0 END FROM agent_sessions",
    "SELECT id::text, started_at::date, 1::bigint, CAST(status AS text) FROM agent_sessions",
    "SELECT 1, 'a', 1.5, true, NULL",
    "SELECT $1::integer + 1",
    "SELECT id FROM agent_sessions WHERE started_at > $1",
    "SELECT id FROM agent_sessions WHERE started_at > now() - $1::interval",
    "SELECT id FROM agent_sessions WHERE last_activity_at BETWEEN $1 AND $2",
    "SELECT id FROM agent_sessions WHERE current_agent LIKE $1",
    "SELECT id FROM agent_sessions WHERE current_agent ILIKE $1 || '%'",
    "SELECT s.* FROM agent_sessions s WHERE EXISTS (SELECT 1 FROM agent_chat_messages m WHERE m.session_id = s.id)",
    "SELECT id, (SELECT count(*) FROM agent_chat_messages m WHERE m.session_id = s.id) AS messages FROM agent_sessions s",
    "SELECT id FROM agent_sessions WHERE id IN (SELECT session_id FROM agent_chat_messages WHERE role = $1)",
    "SELECT x.session_id, x.n FROM (SELECT session_id, count(*) AS n FROM agent_chat_messages GROUP BY session_id) x WHERE x.n > $1",
    "WITH recent AS (SELECT * FROM agent_chat_messages WHERE created_at > $1) SELECT session_id, count(*) FROM recent GROUP BY session_id",
    "WITH s AS (SELECT id, status FROM agent_sessions), m AS (SELECT session_id FROM agent_chat_messages) SELECT s.id, s.status FROM s JOIN m ON m.session_id = s.id",
    "SELECT id FROM agent_sessions UNION SELECT session_id FROM agent_chat_messages",
    "SELECT id, started_at FROM agent_sessions UNION ALL SELECT id, created_at FROM agent_chat_messages ORDER BY 2",
    "INSERT INTO agent_sessions (id, module_type, module_session_id, status) VALUES ($1, $2, $3, $4)",
    "INSERT INTO agent_sessions (id, module_type, module_session_id, current_agent, status) VALUES ($1, $2, $3, $4, $5) RETURNING *",
    "INSERT INTO agent_chat_messages (id, session_id, role, content, metadata) VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at",
    "INSERT INTO agent_sessions (id, module_type, module_session_id, status) VALUES ($1, 'PLANNING', $2, 'ACTIVE') ON CONFLICT (id) DO UPDATE SET last_activity_at = now(), current_agent = EXCLUDED.current_agent RETURNING id",
    "INSERT INTO agent_sessions (id, module_type, module_session_id, status) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    "INSERT INTO agent_chat_messages (id, session_id, role, content) SELECT id || '-copy', session_id, role, content FROM agent_chat_messages WHERE session_id = $1",
    "UPDATE agent_sessions SET status = $1, ended_at = $2 WHERE id = $3",
    "UPDATE agent_sessions SET last_activity_at = now() WHERE id = $1 RETURNING last_activity_at",
    "UPDATE agent_sessions s SET workflow_step = m.content FROM agent_chat_messages m WHERE m.session_id = s.id AND m.id = $1",
    "DELETE FROM agent_chat_messages WHERE session_id = $1",
    "DELETE FROM agent_chat_messages WHERE created_at < $1 RETURNING id, session_id",
    "DELETE FROM agent_chat_messages m USING agent_sessions s WHERE m.session_id = s.id AND s.status = $1",
    "WITH gone AS (DELETE FROM agent_chat_messages WHERE session_id = $1 RETURNING id) SELECT count(*) FROM gone",
    "SELECT array_agg(id) AS ids, string_agg(content, ', ') AS text, bool_and(agent_id IS NULL) FROM agent_chat_messages",
    "SELECT json_agg(content), jsonb_agg(metadata) FROM agent_chat_messages",
    "SELECT session_id, row_number() OVER (PARTITION BY session_id ORDER BY created_at) FROM agent_chat_messages",
    "SELECT \"email\", \"displayName\" FROM users WHERE id = $1",
    "SELECT u.\"email\", count(c.id) AS conversations FROM users u LEFT JOIN chat_sessions cs ON cs.\"userId\" = u.id LEFT JOIN conversations c ON c.\"chatSessionId\" = cs.id GROUP BY u.\"email\"",
    "SELECT \"name\", \"averageRating\" FROM agents WHERE \"isPublic\" AND \"category\" = $1",
    "SELECT sum(\"totalTokens\"), avg(\"totalTokens\"), sum(\"totalCost\"), avg(\"totalCost\") FROM usage_logs WHERE \"userId\" = $1",
    "SELECT sum(\"totalTokens\") FROM monthly_usage",
    "SELECT min(\"email\"), max(\"createdAt\"), min(\"subscriptionTier\") FROM users",
    "SELECT id FROM users WHERE role = ANY($1)",
    "SELECT id FROM users WHERE \"subscriptionTier\" = $1 AND \"isActive\"",
    "UPDATE users SET \"totalMessages\" = \"totalMessages\" + $1, \"totalTokensUsed\" = \"totalTokensUsed\" + $2 WHERE id = $3",
    "INSERT INTO users (id, email, timezone, language, role, \"subscriptionTier\", \"updatedAt\") VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id, \"createdAt\"",
    "SELECT id FROM users WHERE \"dateOfBirth\" < $1",
    "SELECT \"ipAddress\" FROM audit_logs WHERE \"ipAddress\" = $1",
    "SELECT tenant_id, sum(capacity_weight) FROM storage_locations GROUP BY tenant_id",
    "SELECT location_code FROM storage_locations WHERE tenant_id = $1 AND is_active",
    "SELECT * FROM storage_locations WHERE parent_location_id IS NULL",
    "SELECT greatest(capacity_weight, capacity_volume), least(1, 2) FROM storage_locations",
    "SELECT location_code || '-' || location_name AS label FROM storage_locations",
    "SELECT id FROM agent_chat_messages WHERE created_at >= date_trunc('day', now())",
    "SELECT to_char(created_at, 'YYYY-MM') FROM agent_chat_messages",
    "SELECT extract(epoch FROM created_at) FROM agent_chat_messages",
    "SELECT created_at AT TIME ZONE 'UTC' FROM agent_chat_messages",
    "SELECT id FROM agent_sessions WHERE (status, module_type) = ($1, $2)",
    "SELECT jsonb_build_object('id', id, 'role', role) FROM agent_chat_messages",
    "SELECT DISTINCT session_id FROM agent_chat_messages",
    "SELECT DISTINCT ON (session_id) session_id, content FROM agent_chat_messages ORDER BY session_id, created_at DESC",
    "SELECT id FROM agent_sessions WHERE NOT (status = $1)",
    "SELECT id FROM agent_chat_messages WHERE metadata IS NULL OR metadata -> 'hidden' = 'true'::jsonb",
    "SELECT count(DISTINCT session_id) FROM agent_chat_messages",
    "SELECT session_id FROM agent_chat_messages GROUP BY session_id ORDER BY count(*) DESC LIMIT 10",
    "SELECT s.id, latest.content FROM agent_sessions s LEFT JOIN LATERAL (SELECT content FROM agent_chat_messages m WHERE m.session_id = s.id ORDER BY created_at DESC LIMIT 1) latest ON true",
    "SELECT unnest FROM unnest($1::text[])",
    "SELECT id FROM agent_sessions WHERE id = ANY($1::text[])",
    "UPDATE agent_chat_messages SET metadata = coalesce(metadata, '{}'::jsonb) || $1 WHERE id = $2",
    "SELECT id FROM agent_sessions WHERE coalesce(ended_at, $1) > $2",
    "SELECT id FROM agent_sessions WHERE last_activity_at - started_at > $1",
    "SELECT started_at - $1 FROM agent_sessions",
    "SELECT started_at + $1 FROM agent_sessions",
    "SELECT id FROM agent_sessions WHERE $1 < started_at",
    "SELECT id FROM agent_sessions WHERE current_agent = coalesce($1, current_agent)",
    "SELECT id FROM agent_chat_messages WHERE (metadata ->> 'tokens')::int > $1",
    "SELECT id FROM agent_chat_messages WHERE metadata -> 'tags' ? $1",
    "SELECT metadata #>> '{a,b}' FROM agent_chat_messages",
    "SELECT id FROM agent_chat_messages WHERE content ~ $1",
    "SELECT $1::text AS label, $2::int AS n",
    "SELECT id FROM agent_sessions WHERE started_at::date = current_date",
    "SELECT count(*) FROM agent_sessions WHERE status = $1 AND module_type = $2 AND id <> $3",
    "SELECT id FROM agent_sessions ORDER BY started_at LIMIT 10 OFFSET $1",
    "SELECT max(length(content)) FROM agent_chat_messages",
    "SELECT avg(length(content))::int FROM agent_chat_messages",
    "SELECT round(avg(\"totalCost\"), 2) FROM usage_logs",
    "SELECT \"costInput\" * $1 FROM usage_logs",
    "SELECT \"totalTokens\" / 1000.0 FROM usage_logs",
    "SELECT \"tokensInput\" + \"tokensOutput\" FROM usage_logs",
    "SELECT \"totalTokens\"::bigint * 2 FROM usage_logs",
    "UPDATE users SET \"lastInteraction\" = $1, \"name\" = $2 WHERE email = $3",
    "INSERT INTO audit_logs (id, \"adminId\", action, \"ipAddress\") VALUES ($1, $2, $3, $4)",
];

/// Queries over Lemmy's schema.
pub(crate) const LEMMY: &[&str] = &[
    "SELECT * FROM person WHERE id = $1",
    "SELECT id, name, display_name, published FROM person WHERE name = $1 AND local",
    "SELECT p.id, p.name, c.name AS community FROM post p JOIN community c ON c.id = p.community_id WHERE p.id = $1",
    "SELECT p.*, pa.score, pa.comments FROM post p JOIN post_aggregates pa ON pa.post_id = p.id WHERE p.community_id = $1 ORDER BY pa.hot_rank DESC LIMIT $2",
    "SELECT c.id, c.content, pa.name FROM comment c LEFT JOIN person pa ON pa.id = c.creator_id",
    "SELECT count(*) FROM comment WHERE post_id = $1 AND NOT deleted",
    "SELECT post_id, sum(score) AS score FROM post_like GROUP BY post_id",
    "SELECT person_id, avg(score) FROM comment_like GROUP BY person_id",
    "SELECT max(published), min(name) FROM community",
    "SELECT community_id, count(*) FILTER (WHERE state = 'Accepted') FROM community_follower GROUP BY community_id",
    "SELECT * FROM local_user WHERE person_id = $1",
    "SELECT lu.email, p.name FROM local_user lu JOIN person p ON p.id = lu.person_id WHERE lu.email = $1",
    "SELECT id FROM local_user WHERE default_post_sort_type = $1",
    "UPDATE local_user SET theme = $1, show_nsfw = $2 WHERE id = $3",
    "UPDATE local_user SET default_listing_type = $1 WHERE person_id = $2 RETURNING default_listing_type",
    "INSERT INTO post_like (post_id, person_id, score) VALUES ($1, $2, $3) ON CONFLICT (post_id, person_id) DO UPDATE SET score = EXCLUDED.score RETURNING *",
    "DELETE FROM post_like WHERE post_id = $1 AND person_id = $2",
    "INSERT INTO comment_like (person_id, comment_id, score) VALUES ($1, $2, $3) RETURNING published",
    "SELECT p.name, i.domain FROM person p JOIN instance i ON i.id = p.instance_id WHERE i.domain = $1",
    "SELECT id, name FROM community WHERE visibility = $1",
    "SELECT name FROM community WHERE lower(name) = lower($1)",
    "SELECT id FROM post WHERE url = $1",
    "SELECT id FROM post WHERE url LIKE $1",
    "SELECT id FROM post WHERE name ILIKE '%' || $1 || '%'",
    "SELECT id FROM post WHERE published > now() - interval '1 day'",
    "SELECT id FROM post WHERE published > $1 ORDER BY published DESC",
    "SELECT id FROM post WHERE community_id = ANY($1)",
    "SELECT id FROM post WHERE creator_id IN ($1, $2, $3)",
    "SELECT id FROM post WHERE language_id = $1 AND NOT removed AND NOT deleted",
    "SELECT pa.post_id FROM post_aggregates pa WHERE pa.score > $1 AND pa.comments >= $2",
    "SELECT pa.hot_rank * 2, pa.score + 1, pa.upvotes - pa.downvotes FROM post_aggregates pa",
    "SELECT score::float8 / greatest(upvotes + downvotes, 1) FROM post_aggregates",
    "SELECT c.path FROM comment c WHERE c.id = $1",
    "SELECT ca.child_count FROM comment_aggregates ca WHERE ca.comment_id = $1",
    "SELECT p.id, count(c.id) AS comments FROM post p LEFT JOIN comment c ON c.post_id = p.id GROUP BY p.id",
    "SELECT p.id FROM post p WHERE NOT EXISTS (SELECT 1 FROM post_like pl WHERE pl.post_id = p.id)",
    "SELECT p.id, (SELECT max(published) FROM comment c WHERE c.post_id = p.id) AS last_comment FROM post p",
    "SELECT person_id, post_count + comment_count AS activity FROM person_aggregates ORDER BY activity DESC",
    "SELECT * FROM site",
    "SELECT ls.registration_mode, s.name FROM local_site ls JOIN site s ON s.id = ls.site_id",
    "UPDATE local_site SET registration_mode = $1, application_question = $2",
    "SELECT id FROM private_message WHERE recipient_id = $1 AND NOT read ORDER BY published",
    "UPDATE private_message SET read = true WHERE recipient_id = $1 RETURNING id",
    "INSERT INTO private_message (creator_id, recipient_id, content, ap_id) VALUES ($1, $2, $3, $4) RETURNING id, published",
    "INSERT INTO instance (domain) VALUES ($1) ON CONFLICT (domain) DO UPDATE SET updated = now() RETURNING id",
    "SELECT domain, software, version FROM instance WHERE software IS NOT NULL",
    "WITH top AS (SELECT post_id, score FROM post_aggregates ORDER BY score DESC LIMIT $1) SELECT p.name, top.score FROM top JOIN post p ON p.id = top.post_id",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n",
    "SELECT name FROM person UNION SELECT name FROM community",
    "SELECT name, 'person' AS kind FROM person UNION ALL SELECT name, 'community' FROM community",
    "SELECT p.name, cf.state FROM community_follower cf JOIN person p ON p.id = cf.person_id WHERE cf.community_id = $1",
    "SELECT array_agg(name ORDER BY name) FROM community",
    "SELECT coalesce(display_name, name) AS shown FROM person",
    "SELECT nullif(bio, '') FROM person",
    "SELECT CASE WHEN banned THEN 'banned' WHEN deleted THEN 'deleted' END FROM person",
    "SELECT id FROM person WHERE ban_expires < now() AND banned",
    "UPDATE person SET banned = false, ban_expires = NULL WHERE ban_expires < $1",
    "DELETE FROM comment_like cl USING comment c WHERE c.id = cl.comment_id AND c.post_id = $1",
    "SELECT c.id FROM comment c JOIN post p ON p.id = c.post_id JOIN community co ON co.id = p.community_id WHERE co.name = $1 AND c.creator_id = $2",
    "SELECT jsonb_build_object('name', name, 'id', id) FROM person LIMIT 5",
    "SELECT length(content), upper(content) FROM comment",
    "SELECT date_trunc('hour', published) AS hour, count(*) FROM comment GROUP BY hour ORDER BY hour",
    "SELECT extract(year FROM published) FROM post",
    "SELECT to_char(published, 'YYYY') FROM post",
    "SELECT published::date AS day FROM post",
    "SELECT id FROM post WHERE published::date = $1",
    "SELECT id FROM post WHERE id > $1 ORDER BY id LIMIT $2",
    "SELECT p.id, rank() OVER (ORDER BY pa.score DESC) FROM post p JOIN post_aggregates pa ON pa.post_id = p.id",
    "SELECT distinct community_id FROM post",
    "SELECT count(*) > 0 FROM person WHERE name = $1",
    "SELECT exists(SELECT 1 FROM person WHERE name = $1)",
    "SELECT id FROM post WHERE featured_local OR featured_community",
    "SELECT id FROM person WHERE display_name IS DISTINCT FROM $1",
    "SELECT id FROM post WHERE alt_text IS NOT NULL AND url_content_type = $1",
    "INSERT INTO community (name, title, actor_id, public_key, inbox_url, instance_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, visibility",
    "UPDATE community SET visibility = $1 WHERE id = $2",
    "SELECT c.name, count(cf.person_id) AS followers FROM community c LEFT JOIN community_follower cf ON cf.community_id = c.id GROUP BY c.name HAVING count(cf.person_id) >= $1",
    "SELECT p.id, pl.score FROM post p LEFT JOIN post_like pl ON pl.post_id = p.id AND pl.person_id = $1",
    "SELECT id FROM community WHERE id = ANY(SELECT community_id FROM community_follower WHERE person_id = $1)",
    "SELECT x.n FROM (SELECT count(*) AS n FROM post) x",
];

/// Queries over the seeds (the platform tables, before the project's later migrations).
pub(crate) const SEEDS: &[&str] = &[
    "SELECT * FROM users WHERE email = $1",
    "SELECT id, role FROM users WHERE role = $1",
    "SELECT a.\"name\", count(c.id) FROM agents a LEFT JOIN conversations c ON c.\"agentId\" = a.id GROUP BY a.\"name\"",
    "SELECT * FROM messages WHERE \"conversationId\" = $1 ORDER BY \"timestamp\"",
    "SELECT m.\"content\", c.\"title\" FROM messages m JOIN conversations c ON c.id = m.\"conversationId\" WHERE c.\"agentId\" = $1",
    "INSERT INTO messages (id, \"conversationId\", role, content, \"tokensInput\") VALUES ($1, $2, $3, $4, $5) RETURNING \"timestamp\"",
    "UPDATE conversations SET \"messageCount\" = \"messageCount\" + 1, \"tokenCount\" = \"tokenCount\" + $1 WHERE id = $2",
    "SELECT \"userId\", \"year\", \"month\", \"totalCost\" FROM monthly_usage WHERE \"userId\" = $1 AND \"year\" = $2",
    "SELECT \"type\", count(*) FROM usage_alerts WHERE NOT triggered GROUP BY \"type\"",
    "INSERT INTO usage_alerts (id, \"userId\", \"type\", threshold) VALUES ($1, $2, $3, $4)",
    "SELECT status, count(*) FROM invitations GROUP BY status",
    "UPDATE invitations SET status = 'ACCEPTED', \"acceptedAt\" = now() WHERE token = $1 RETURNING id",
    "DELETE FROM verification_tokens WHERE expires < now()",
    "SELECT \"agentUsage\" -> $1 FROM monthly_usage",
    "SELECT tags FROM artifacts WHERE tags ? $1",
    "SELECT \"version\", \"parentId\" FROM artifacts WHERE id = $1",
    "SELECT location_name FROM storage_locations WHERE location_type = $1 AND current_utilization > $2",
    "SELECT sum(\"costInput\" + \"costOutput\") FROM usage_logs WHERE \"timestamp\" >= $1",
    "SELECT count(*) FILTER (WHERE success) AS ok, count(*) FILTER (WHERE NOT success) AS failed FROM usage_logs",
    "SELECT u.email, a.provider FROM users u JOIN accounts a ON a.\"userId\" = u.id WHERE a.\"providerAccountId\" = $1",
];

/// Queries over the feature fixture: another schema, a domain, a composite, arrays.
pub(crate) const FEATURES: &[&str] = &[
    "SELECT * FROM billing.plans WHERE tier = $1",
    "SELECT id, price, seats FROM billing.plans ORDER BY price",
    "INSERT INTO billing.plans (tier, price) VALUES ($1, $2) RETURNING id",
    "SELECT contact FROM customers WHERE contact = $1",
    "INSERT INTO customers (\"type\", contact, alias) VALUES ($1, $2, $3) RETURNING id, contact",
    "UPDATE customers SET contact = $1 WHERE id = $2",
    "SELECT home FROM customers WHERE id = $1",
    "SELECT tags FROM customers WHERE $1 = ANY(tags)",
    "SELECT id FROM customers WHERE tags @> $1",
    "SELECT tags || $1::text FROM customers",
    "SELECT array_length(tags, 1), cardinality(tags) FROM customers",
    "SELECT name_upper, joined FROM customers WHERE joined > $1",
    "SELECT c.id, p.tier FROM customers c LEFT JOIN billing.plans p ON p.tier = c.tier",
    "SELECT id FROM customers WHERE tier IS NULL OR tier = $1",
    "SELECT url FROM click_events WHERE at > $1",
    "SELECT city_id, max(peak) FROM measurements GROUP BY city_id",
    "SELECT f FROM diary WHERE id = $1",
    "SELECT id FROM diary WHERE f = $1",
    "SELECT body FROM archive.notes",
    "SELECT addrs FROM devices WHERE id = $1",
    "INSERT INTO diary (id, f) SELECT g, $1 FROM generate_series(1, $2) g",
    "SELECT u, d.f FROM unnest($1::int[]) u LEFT JOIN diary d ON d.id = u",
    "SELECT n.x FROM generate_series(1, 3) AS n(x)",
    "SELECT id, alias, price FROM paying_customers WHERE tier = $1",
    "SELECT p.id, v.alias, v.price FROM billing.plans p LEFT JOIN paying_customers v ON v.tier = p.tier AND v.id = $1 ORDER BY p.id LIMIT $2",
];

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

fn features() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/features")
}

/// Every corpus: (name, migrations folder, queries).
pub(crate) fn corpora() -> Vec<(&'static str, PathBuf, &'static [&'static str])> {
    vec![
        ("project", project(), PROJECT),
        ("lemmy", corpus("lemmy"), LEMMY),
        ("seeds", corpus("seeds"), SEEDS),
        ("features", features(), FEATURES),
    ]
}

#[test]
fn every_query_agrees_with_prepare_on_postgresql() {
    let (mut queries, mut params, mut columns) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, dir, list) in corpora() {
        let catalog = pgstrata_codegen::catalog(&dir).unwrap_or_else(|e| panic!("{e}"));
        let db = fresh_db();
        let mut c = db.client();
        load(&dir).run_blocking(&mut c).unwrap();
        for sql in list {
            queries += 1;
            let described = match describe(&catalog, sql) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("[{name}] {sql}\n  pgstrata: {e:?}"));
                    continue;
                }
            };
            let stmt = match c.prepare(sql) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("[{name}] {sql}\n  PostgreSQL refuses it: {e}"));
                    continue;
                }
            };
            let ours: Vec<String> = described
                .params
                .iter()
                .map(|p| pg_name(&catalog, &p.ty))
                .collect();
            let theirs: Vec<String> = stmt.params().iter().map(|t| t.name().to_string()).collect();
            if ours != theirs {
                failures.push(format!(
                    "[{name}] {sql}\n  params: pgstrata {ours:?}, PostgreSQL {theirs:?}"
                ));
            }
            let ours: Vec<(String, String)> = described
                .columns
                .iter()
                .map(|o| (o.name.clone(), pg_name(&catalog, &o.ty)))
                .collect();
            let theirs: Vec<(String, String)> = stmt
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_().name().to_string()))
                .collect();
            if ours != theirs {
                failures.push(format!("[{name}] {sql}\n  columns: pgstrata {ours:?}\n           PostgreSQL {theirs:?}"));
            }
            params += stmt.params().len();
            columns += stmt.columns().len();
        }
    }
    println!(
        "{queries} queries prepared: {params} parameters, {columns} result columns; {} disagree",
        failures.len()
    );
    assert!(queries >= 150, "{queries}");
    assert!(
        failures.is_empty(),
        "{} of {queries} queries disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
