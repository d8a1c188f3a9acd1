struct Customer {
    id: i64,
    alias: String,
}

fn main() {
    let _ = pgstrata::query_as!(Customer, "SELECT id, alias FROM customers");
}
