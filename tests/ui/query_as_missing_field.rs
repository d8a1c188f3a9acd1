struct Customer {
    id: i32,
    alias: String,
}

fn main() {
    let _ = pgstrata::query_as!(Customer, "SELECT id, alias, self FROM customers");
}
