//! A service that applies its embedded migrations at startup (the rebuild benchmark's
//! pgstrata crate): what `cargo build --release` recompiles after a migration changes.
mod db {
    pgstrata::embed_migrations!("../migrations/sqlx");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let mut client = pgstrata::connect(&url).await?;
    let report = db::MIGRATIONS.run(&mut client).await?;
    println!(
        "{} applied, {} already there",
        report.applied.len(),
        report.already_applied
    );
    Ok(())
}
