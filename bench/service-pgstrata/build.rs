fn main() {
    pgstrata_codegen::Builder::new("../migrations/sqlx")
        .watch()
        .unwrap();
}
