//! A service that applies its embedded migrations at startup (the rebuild benchmark's
//! refinery crate): what `cargo build --release` recompiles after a migration changes.
mod embedded {
    refinery::embed_migrations!("../migrations/refinery");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
    let report = embedded::migrations::runner().run(&mut client)?;
    println!("{} migrations", report.applied_migrations().len());
    Ok(())
}
