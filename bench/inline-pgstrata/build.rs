// The schema model query! reads.
fn main() {
    pgstrata_codegen::Builder::new("../inline-migrations")
        .catalog()
        .unwrap();
}
