fn main() {
    let _ = pgstrata::query!("SELECT id FROM customers WHERE id = $1 AND alias = $2", 1);
}
