-- The schema of the typed-query benchmarks: users and their posts.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text,
    active boolean NOT NULL DEFAULT true
);

CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    title text NOT NULL,
    body text,
    score integer NOT NULL DEFAULT 0
);
CREATE INDEX posts_user_id_idx ON posts (user_id);
