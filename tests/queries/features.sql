-- Queries over the features fixture (tests/fixtures/features), written for pgstrata's tests (MIT OR Apache-2.0).
-- One statement each; PostgreSQL's prepare is the oracle (tests/tests/it/queries.rs).

SELECT * FROM billing.plans WHERE tier = $1;
SELECT id, price, seats FROM billing.plans ORDER BY price;
INSERT INTO billing.plans (tier, price) VALUES ($1, $2) RETURNING id;
SELECT contact FROM customers WHERE contact = $1;
INSERT INTO customers ("type", contact, alias) VALUES ($1, $2, $3) RETURNING id, contact;
UPDATE customers SET contact = $1 WHERE id = $2;
SELECT home FROM customers WHERE id = $1;
SELECT tags FROM customers WHERE $1 = ANY(tags);
SELECT id FROM customers WHERE tags @> $1;
SELECT tags || $1::text FROM customers;
SELECT array_length(tags, 1), cardinality(tags) FROM customers;
SELECT name_upper, joined FROM customers WHERE joined > $1;
SELECT c.id, p.tier FROM customers c LEFT JOIN billing.plans p ON p.tier = c.tier;
SELECT id FROM customers WHERE tier IS NULL OR tier = $1;
SELECT url FROM click_events WHERE at > $1;
SELECT city_id, max(peak) FROM measurements GROUP BY city_id;
SELECT f FROM diary WHERE id = $1;
SELECT id FROM diary WHERE f = $1;
SELECT body FROM archive.notes;
SELECT addrs FROM devices WHERE id = $1;
INSERT INTO diary (id, f) SELECT g, $1 FROM generate_series(1, $2) g;
SELECT u, d.f FROM unnest($1::int[]) u LEFT JOIN diary d ON d.id = u;
SELECT n.x FROM generate_series(1, 3) AS n(x);
SELECT id, alias, price FROM paying_customers WHERE tier = $1;
SELECT p.id, v.alias, v.price FROM billing.plans p LEFT JOIN paying_customers v ON v.tier = p.tier AND v.id = $1 ORDER BY p.id LIMIT $2;
