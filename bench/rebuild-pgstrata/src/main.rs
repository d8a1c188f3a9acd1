mod db {
    pgstrata::embed_migrations!("../migrations/sqlx");
}
fn main() {
    println!("{}", db::MIGRATIONS.len());
}
