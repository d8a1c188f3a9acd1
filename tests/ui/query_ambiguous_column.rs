fn main() {
    let _ = pgstrata::query!("SELECT id FROM customers c JOIN diary d ON d.id = c.id");
}
