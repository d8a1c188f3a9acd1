// Makes cargo rebuild this crate when a migration is added or removed (editing one is
// tracked by the macro itself), shows the migrations' lint findings as warnings, and
// writes the schema model `query!` checks against.
fn main() {
    let builder = pgstrata_codegen::Builder::new("../../migrations");
    let done = builder
        .watch()
        .and_then(|()| builder.lint().map(drop))
        .and_then(|()| builder.catalog().map(drop));
    if let Err(e) = done {
        panic!("{e}");
    }
}
