fn main() {
    let _ = pgstrata::query!(
        "SELECT id
         FROM customers
         WHERE \"type\" = 42"
    );
}
