//! A service that applies its embedded migrations at startup (the rebuild benchmark's
//! sqlx crate): what `cargo build --release` recompiles after a migration changes.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlx");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let pool = sqlx::PgPool::connect(&url).await?;
    MIGRATOR.run(&pool).await?;
    println!("{} migrations", MIGRATOR.iter().count());
    Ok(())
}
