//! The code generated for the seeds corpus, reviewed as a snapshot. The same code is
//! compiled and run by `typed::seeds_rows_round_trip`.

use pgstrata_testkit::corpus;

#[test]
fn seeds_generated_code() {
    let dir = corpus("seeds");
    let base = dir.parent().unwrap();
    let code = pgstrata_codegen::Project::in_crate(base, "migrations", None)
        .and_then(|p| pgstrata_codegen::generate(&p, pgstrata_codegen::Features::default(), None))
        .unwrap_or_else(|e| panic!("{e}"));
    // The MIGRATIONS static is the files' text; the review is of the generated types.
    let start = code
        .find("/// Types generated from the schema")
        .expect("a schema module");
    insta::assert_snapshot!("seeds_generated_schema", &code[start..]);
}
