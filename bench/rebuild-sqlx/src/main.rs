static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlx");
fn main() {
    println!("{}", MIGRATOR.iter().count());
}
