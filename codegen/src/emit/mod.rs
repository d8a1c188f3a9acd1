//! Emitting Rust code: one module per shape emitted.

pub mod migrations;
pub mod queries;
pub mod schema;
pub mod table;
