// Makes cargo rebuild this crate when a migration is added or removed (editing one is
// tracked by the macro itself), and shows the migrations' lint findings as warnings.
fn main() {
    let builder = pgstrata_codegen::Builder::new("../../migrations");
    if let Err(e) = builder.watch().and_then(|()| builder.lint().map(drop)) {
        panic!("{e}");
    }
}
