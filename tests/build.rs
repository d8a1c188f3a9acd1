// The schema model of the features fixture, for the `query!` tests.
fn main() {
    if let Err(e) = pgstrata_codegen::Builder::new("fixtures/features").catalog() {
        panic!("{e}");
    }
}
