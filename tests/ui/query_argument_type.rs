fn main() {
    let id = "one";
    let _ = pgstrata::query!("SELECT alias FROM customers WHERE id = $1", id);
}
