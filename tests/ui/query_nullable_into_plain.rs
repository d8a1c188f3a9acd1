struct Customer {
    id: i32,
    self_: String,
}

fn main() {
    let _ = pgstrata::query_as!(Customer, "SELECT id, self FROM customers");
}
