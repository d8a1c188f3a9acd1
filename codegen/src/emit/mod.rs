//! Emitting Rust code: one module per shape emitted.

pub mod migrations;
pub mod schema;
pub mod table;
