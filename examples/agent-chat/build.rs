// Makes cargo rebuild this crate when a migration is added or removed (editing one is
// tracked by the macro itself).
fn main() {
    if let Err(e) = pgstrata_codegen::Builder::new("../../migrations").watch() {
        panic!("{e}");
    }
}
