// The schema model of the typed-query benchmark, for its query! calls.
fn main() {
    pgstrata_codegen::Builder::new("../inline-migrations")
        .catalog()
        .unwrap();
}
