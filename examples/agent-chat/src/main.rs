//! An agent-chat service that migrates its database at startup and works with the
//! types generated from its migrations.
//!
//! `cargo run -p agent-chat` uses DATABASE_URL when it is set, and otherwise starts a
//! throwaway PostgreSQL for the length of the run.
#![deny(warnings)]

mod db {
    pgstrata::embed_migrations!("../../migrations");
}

use db::schema::{
    AgentChatMessage, AgentModuleType, ChatMessageRole, NewAgentChatMessage, NewAgentSession,
};

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

    // Typed rows: the structs and enums come from the migrations, checked by the compiler.
    let session = NewAgentSession {
        id: format!("s-{}", std::process::id()),
        module_type: AgentModuleType::Planning,
        module_session_id: "plan-42".into(),
        current_agent: Some("planner".into()),
        workflow_step: None,
        status: None, // the column's default, ACTIVE
        started_at: None,
        last_activity_at: None,
        ended_at: None,
    }
    .insert(&client)
    .await?;
    println!(
        "session {} is {:?} since {}",
        session.id, session.status, session.started_at
    );

    NewAgentChatMessage {
        id: format!("m-{}", std::process::id()),
        session_id: session.id.clone(),
        role: ChatMessageRole::Assistant,
        agent_id: session.current_agent.clone(),
        content: "Here is the plan for your launch.".into(),
        metadata: None,
        created_at: None,
    }
    .insert(&client)
    .await?;

    // Full-text search over the generated tsvector column, read back as typed rows.
    let sql = format!(
        "SELECT {} FROM {} WHERE search @@ to_tsquery('simple', $1) AND role = $2",
        AgentChatMessage::COLUMNS.join(", "),
        AgentChatMessage::TABLE
    );
    for row in client
        .query(sql.as_str(), &[&"plan", &ChatMessageRole::Assistant])
        .await?
    {
        let m = AgentChatMessage::from_row(&row)?;
        println!("found message: [{}] {}", m.role.label(), m.content);
    }
    Ok(())
}
