//! An agent-chat service that migrates its database at startup.
//!
//! `cargo run -p agent-chat` uses DATABASE_URL when it is set, and otherwise starts a
//! throwaway PostgreSQL for the length of the run.

mod db {
    pgstrata::embed_migrations!("../../migrations");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keeps a throwaway database alive until the end of main.
    let mut _throwaway = None;
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            println!("DATABASE_URL is not set: starting a throwaway PostgreSQL");
            let db = pgstrata_testkit::fresh_db();
            let url = db.url().to_string();
            _throwaway = Some(db);
            url
        }
    };
    let mut client = pgstrata_testkit::connect(&url).await?;

    let report = db::MIGRATIONS.run(&mut client).await?;
    println!(
        "{} migrations embedded; {} already applied; {} applied now:",
        db::MIGRATIONS.len(),
        report.already_applied,
        report.applied.len()
    );
    for m in &report.applied {
        println!(
            "  V{}__{} ({} ms)",
            m.version,
            m.name,
            m.duration.as_millis()
        );
    }
    // A second start finds nothing to do, in one round trip.
    let again = db::MIGRATIONS.run(&mut client).await?;
    println!(
        "second start: {} applied, {} up to date",
        again.applied.len(),
        again.already_applied
    );

    client
        .execute(
            "INSERT INTO agent_sessions (id, module_type, module_session_id) VALUES ($1, 'PLANNING', $2) \
             ON CONFLICT (id) DO NOTHING",
            &[&"s-1", &"plan-42"],
        )
        .await?;
    client
        .execute(
            "INSERT INTO agent_chat_messages (id, session_id, role, content) \
             VALUES ($1, $2, 'ASSISTANT', $3) ON CONFLICT (id) DO NOTHING",
            &[&"m-1", &"s-1", &"Here is the plan for your launch."],
        )
        .await?;
    for row in client
        .query(
            "SELECT role::text, content FROM agent_chat_messages WHERE search @@ to_tsquery('simple', 'plan')",
            &[],
        )
        .await?
    {
        println!("found message: [{}] {}", row.get::<_, String>(0), row.get::<_, String>(1));
    }
    Ok(())
}
