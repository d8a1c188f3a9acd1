fn main() {
    let _ = pgstrata::query!("SELECT id, alais FROM customers WHERE id = $1", 1);
}
