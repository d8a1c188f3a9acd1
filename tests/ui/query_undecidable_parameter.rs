fn main() {
    let _ = pgstrata::query!("SELECT $1 AS anything", 1);
}
