//! An agent-chat service that migrates its database at startup and works with the
//! types generated from its migrations.
//!
//! `cargo run -p agent-chat` uses DATABASE_URL when it is set, and otherwise starts a
//! throwaway PostgreSQL for the length of the run.
#![deny(warnings)]

mod db {
    pgstrata::embed_migrations!("../../migrations", queries = "queries");
}

use db::queries;
use db::schema::{AgentModuleType, AgentSessionStatus, ChatMessageRole};

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
    let mut client = pgstrata::connect(&url).await?;

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

    // Every read and write goes through queries/chat.sql, checked against the
    // migrations at build time: the functions, their arguments and rows are typed.
    let id = format!("s-{}", std::process::id());
    let session = queries::start_session(
        &client,
        &id,
        AgentModuleType::Planning,
        "plan-42",
        Some("planner"),
    )
    .await?;
    println!(
        "session {} is {} since {}",
        session.id,
        session.status.label(),
        session.started_at
    );

    queries::add_message(
        &client,
        &format!("m-{}", std::process::id()),
        &session.id,
        ChatMessageRole::Assistant,
        session.current_agent.as_deref(),
        "Here is the plan for your launch.",
        None,
    )
    .await?;

    // Full-text search over the generated tsvector column.
    for m in queries::search_messages(&client, "plan", 10).await? {
        println!(
            "found message: [{}] {} (rank {:.3}, {} module)",
            m.role.label(),
            m.content,
            m.rank,
            m.module_type.label()
        );
    }
    // Rows that are exactly a table's columns come back as its row struct.
    let history: Vec<db::schema::AgentChatMessage> =
        queries::session_messages(&client, &session.id).await?;
    println!("{} message(s) in session {}", history.len(), session.id);

    let active = queries::active_sessions(&client).await?;
    println!("{} active session(s)", active.sessions);
    let ended = queries::end_session(&client, &session.id).await?;
    println!("ended {ended} session(s)");

    // A one-off query, checked at build time against the model build.rs wrote.
    let since = session.started_at - pgstrata::types::chrono::TimeDelta::hours(1);
    let completed = pgstrata::query!(
        "SELECT id, current_agent, ended_at FROM agent_sessions
         WHERE status = $1 AND started_at > $2 ORDER BY started_at",
        AgentSessionStatus::Completed,
        since
    )
    .fetch_all(&client)
    .await?;
    for s in &completed {
        let agent: Option<&str> = s.current_agent.as_deref();
        println!(
            "completed in the last hour: {} (agent {}, ended {})",
            s.id,
            agent.unwrap_or("-"),
            s.ended_at
                .map_or_else(|| "-".to_string(), |t| t.to_string())
        );
    }
    Ok(())
}
