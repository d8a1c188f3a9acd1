//! The inline-query benchmark's crate: its queries are written by `bench-gen queries N`.
include!("../generated.rs");
