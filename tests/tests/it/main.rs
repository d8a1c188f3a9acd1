//! Integration tests against a real PostgreSQL (DATABASE_URL, or a throwaway server
//! started from the system's binaries; see pgstrata-testkit).

mod adopt;
mod apply;
mod concurrency;
mod corpus;
mod crash;
mod failures;
mod fuzz;
mod killpoints;
mod model;
mod nullability;
mod pgbouncer;
mod queries;
mod rollback;
mod snapshot;
mod support;
mod typed;
mod typed_queries;
