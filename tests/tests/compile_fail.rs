//! The macro's errors, as the compiler shows them: each on the macro's string, naming
//! the file (and line and column where there is one) and what to do.

#[test]
fn embed_migrations_errors() {
    // Fixture folders are resolved against this crate, not trybuild's scratch crate.
    std::env::set_var("__PGSTRATA_TEST_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/embed_*.rs");
}

#[test]
fn query_errors() {
    std::env::set_var("__PGSTRATA_TEST_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    // The schema model tests/build.rs wrote, for query! and query_as!.
    std::env::set_var("__PGSTRATA_TEST_OUT_DIR", env!("OUT_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/query_*.rs");
}
