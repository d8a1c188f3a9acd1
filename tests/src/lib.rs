//! Integration tests live in tests/; this library holds what the tests and the tools
//! beside them share.

pub mod fuzz;
