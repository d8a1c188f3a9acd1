//! Generated types compile for every corpus and read a row of every table.

use pgstrata::{Insertable, TableInfo};
use pgstrata_testkit::fresh_db;

mod seeds {
    pgstrata::embed_migrations!("corpus/seeds/migrations");
}

mod lemmy {
    pgstrata::embed_migrations!("corpus/lemmy/migrations");
}

mod project {
    pgstrata::embed_migrations!("../migrations");
}

/// An SQL expression of column type `ty` (as format_type spells it) that satisfies NOT NULL.
fn value_for(client: &mut postgres::Client, ty: &str) -> String {
    let base = ty.trim_end_matches("[]");
    if ty.ends_with("[]") {
        return format!("'{{}}'::{ty}");
    }
    let literal = match base {
        "smallint" | "integer" | "bigint" | "real" | "double precision" => "1".to_string(),
        b if b.starts_with("numeric") => "1".to_string(),
        "boolean" => "true".to_string(),
        "uuid" => "gen_random_uuid()".to_string(),
        "json" | "jsonb" => "'{}'".to_string(),
        "bytea" => "'\\x00'".to_string(),
        "date" => "current_date".to_string(),
        "inet" => "'127.0.0.1'".to_string(),
        b if b.starts_with("timestamp") || b.starts_with("time") => "now()".to_string(),
        b if b.starts_with("character") || b == "text" || b == "citext" => "'x'".to_string(),
        "tsvector" => "''".to_string(),
        _ => {
            // An enum: its first label; a domain: let the base type speak.
            let row = client
                .query_one(
                    "SELECT t.typtype::text, format_type(t.typbasetype, t.typtypmod) FROM pg_type t WHERE t.oid = $1::text::regtype",
                    &[&base],
                )
                .unwrap();
            match row.get::<_, String>(0).as_str() {
                "e" => format!("(enum_range(NULL::{base}))[1]"),
                "d" => value_for(client, &row.get::<_, String>(1)),
                other => panic!("no test value for type {ty} (typtype {other})"),
            }
        }
    };
    format!("{literal}::{ty}")
}

/// Inserts one row into every table (constraints off: this checks types, not data) and
/// reads each back through its generated struct.
fn round_trip(migrations: &pgstrata::Migrations, tables: &[TableInfo]) -> usize {
    let db = fresh_db();
    let mut c = db.client();
    migrations.run_blocking(&mut c).unwrap();
    let check = migrations.verify_blocking(&mut c).unwrap();
    assert!(
        check.differences.is_empty(),
        "the compiled schema is the live one: {check:?}"
    );
    // Foreign keys and triggers off, checks dropped: one arbitrary row per table.
    c.batch_execute("SET session_replication_role = replica")
        .unwrap();
    let checks: Vec<(String, String)> = c
        .query(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'c' AND conrelid <> 0",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (t, name) in checks {
        c.batch_execute(&format!("ALTER TABLE {t} DROP CONSTRAINT \"{name}\""))
            .unwrap();
    }
    for t in tables {
        let required: Vec<(String, String)> = c
            .query(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
                 WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
                 AND a.attnotnull AND a.atthasdef = false AND a.attidentity = '' AND a.attgenerated = '' ORDER BY a.attnum",
                &[&t.sql_name],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let cols: Vec<String> = required.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let values: Vec<String> = required
            .iter()
            .map(|(_, ty)| value_for(&mut c, ty))
            .collect();
        let insert = if cols.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", t.sql_name)
        } else {
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                t.sql_name,
                cols.join(", "),
                values.join(", ")
            )
        };
        c.batch_execute(&insert)
            .unwrap_or_else(|e| panic!("{insert}: {e}"));
        let select = format!(
            "SELECT {} FROM {}",
            t.columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            t.sql_name
        );
        // Every row: some migrations insert rows of their own.
        let rows = c.query(select.as_str(), &[]).unwrap();
        assert!(!rows.is_empty(), "{}", t.sql_name);
        for row in &rows {
            (t.check_row)(row).unwrap_or_else(|e| panic!("{}: {e:?}", t.sql_name));
        }
    }
    let live: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND c.relname <> 'pgstrata_migrations'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables.len() as i64, live, "a struct for every table");
    tables.len()
}

#[test]
fn seeds_rows_round_trip() {
    assert_eq!(round_trip(&seeds::MIGRATIONS, seeds::schema::tables()), 18);
}

#[test]
fn lemmy_rows_round_trip() {
    assert_eq!(round_trip(&lemmy::MIGRATIONS, lemmy::schema::tables()), 76);
}

#[test]
fn project_rows_round_trip() {
    assert_eq!(
        round_trip(&project::MIGRATIONS, project::schema::tables()),
        18
    );
}

/// A new `agent_sessions` row with only its required columns set.
fn new_session(id: &str) -> project::schema::NewAgentSession {
    project::schema::NewAgentSession {
        id: id.into(),
        module_type: project::schema::AgentModuleType::Planning,
        module_session_id: "m1".into(),
        current_agent: None,
        workflow_step: None,
        status: None,
        started_at: None,
        last_activity_at: None,
        ended_at: None,
    }
}

/// Insert structs format as `#[derive(Debug)]` would: field names, `Some`/`None` for the
/// optional fields, required ones bare (the impl goes through `Insertable::values`).
#[test]
fn insert_struct_debug_reads_like_a_derive() {
    let new = project::schema::NewAgentSession {
        workflow_step: Some("draft".into()),
        status: Some(project::schema::AgentSessionStatus::Active),
        ..new_session("s1")
    };
    assert_eq!(
        format!("{new:?}"),
        "NewAgentSession { id: \"s1\", module_type: Planning, module_session_id: \"m1\", \
         current_agent: None, workflow_step: Some(\"draft\"), status: Some(Active), \
         started_at: None, last_activity_at: None, ended_at: None }"
    );
    let cloned = new.clone();
    assert_eq!(format!("{cloned:#?}"), format!("{new:#?}"));
    assert!(
        format!("{new:#?}").contains("\n    workflow_step: Some(\n        \"draft\",\n    ),\n")
    );
}

/// The blocking twin of `insert`, on a client and inside a transaction that is rolled
/// back (the row is gone after).
#[test]
fn insert_blocking_on_a_client_and_in_a_transaction() {
    use project::schema::AgentSessionStatus;
    let db = fresh_db();
    let mut c = db.client();
    project::MIGRATIONS.run_blocking(&mut c).unwrap();
    let stored = new_session("b1").insert_blocking(&mut c).unwrap();
    assert_eq!(stored.id, "b1");
    assert_eq!(
        stored.status,
        AgentSessionStatus::Active,
        "the column default"
    );
    let mut tx = c.transaction().unwrap();
    new_session("b2").insert_blocking(&mut tx).unwrap();
    let e = new_session("b1").insert_blocking(&mut tx).unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("23505"), "{e}");
    tx.rollback().unwrap();
    let ids: Vec<String> = c
        .query("SELECT id FROM agent_sessions ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec!["b1".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_types_insert_and_read_back() {
    use project::schema::{
        AgentChatMessage, AgentSession, AgentSessionStatus, ChatMessageRole, NewAgentChatMessage,
        NewAgentSession,
    };
    let db = fresh_db();
    let mut c = db.async_client().await;
    project::MIGRATIONS.run(&mut c).await.unwrap();
    let session = NewAgentSession {
        workflow_step: Some("draft".into()),
        ..new_session("s1")
    }
    .insert(&c)
    .await
    .unwrap();
    assert_eq!(
        session.status,
        AgentSessionStatus::Active,
        "the column default"
    );
    assert_eq!(session.workflow_step.as_deref(), Some("draft"));
    let msg = NewAgentChatMessage {
        id: "m1".into(),
        session_id: session.id.clone(),
        role: ChatMessageRole::Assistant,
        agent_id: None,
        content: "hello".into(),
        metadata: Some(pgstrata::types::serde_json::json!({"k": 1})),
        created_at: None,
    }
    .insert(&c)
    .await
    .unwrap();
    let row = c
        .query_one(
            format!(
                "SELECT {} FROM {} WHERE id = $1",
                AgentChatMessage::COLUMNS.join(", "),
                AgentChatMessage::TABLE
            )
            .as_str(),
            &[&"m1"],
        )
        .await
        .unwrap();
    let read = AgentChatMessage::from_row(&row).unwrap();
    assert_eq!(read, msg);
    assert_eq!(ChatMessageRole::ALL.len(), 3);
    assert_eq!(ChatMessageRole::Assistant.label(), "ASSISTANT");
    // Enum values go in as parameters too.
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM agent_chat_messages WHERE role = $1",
            &[&ChatMessageRole::Assistant],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    let _: Option<AgentSession> = None;
}

mod shapes {
    pgstrata::embed_migrations!(
        "fixtures/features",
        config = "fixtures/features/pgstrata.toml"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_shape_round_trips() {
    use shapes::schema::billing::{NewPlan, Plan, PlanTier};
    use shapes::schema::{Address, Client, Email, NewClient};
    let db = fresh_db();
    let mut c = db.async_client().await;
    shapes::MIGRATIONS.run(&mut c).await.unwrap();

    // An enum in another schema, with a label added BEFORE another.
    assert_eq!(
        PlanTier::ALL,
        &[PlanTier::Free, PlanTier::Team, PlanTier::Pro]
    );
    assert_eq!(Plan::TABLE, "\"billing\".\"plans\"");
    let plan = NewPlan {
        id: None,
        tier: PlanTier::Team,
        price: None,
        seats: Some(5),
    }
    .insert(&c)
    .await
    .unwrap();
    assert_eq!(
        (plan.id, plan.tier, plan.seats),
        (1, PlanTier::Team, Some(5))
    );
    assert_eq!(
        plan.price,
        pgstrata::types::rust_decimal::Decimal::ZERO,
        "the default"
    );

    // Keywords as fields, a domain, a composite, an array, a generated column, serial,
    // the `time` crate and a column override, under a renamed struct.
    let client = NewClient {
        id: None,
        r#type: "vip".into(),
        self_: Some("me".into()),
        contact: Some(Email("a@b.example".into())),
        home: Some(Address {
            street: Some("Main St".into()),
            zip: Some(12345),
        }),
        tags: Some(vec!["x".into(), "y".into()]),
        tier: Some(PlanTier::Pro),
        joined: None,
        alias: "al".into(),
    }
    .insert(&c)
    .await
    .unwrap();
    assert_eq!(client.id, 1);
    assert_eq!(client.name_upper.as_deref(), Some("VIP"));
    assert_eq!(client.contact, Some(Email("a@b.example".into())));
    assert_eq!(client.home.as_ref().and_then(|h| h.zip), Some(12345));
    assert_eq!(client.tags, vec!["x".to_string(), "y".to_string()]);
    let _: pgstrata::types::time::PrimitiveDateTime = client.joined;
    let _: Box<str> = client.alias.clone();
    assert_eq!(Client::COLUMNS.len(), 10);
    let row = c
        .query_one(
            format!(
                "SELECT {} FROM {}",
                Client::COLUMNS
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                Client::TABLE
            )
            .as_str(),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(Client::from_row(&row).unwrap(), client);
    // A domain value that breaks the domain's check is refused by the server.
    let bad = NewClient {
        contact: Some(Email("nope".into())),
        id: None,
        ..NewClient {
            id: None,
            r#type: "x".into(),
            self_: None,
            contact: None,
            home: None,
            tags: None,
            tier: None,
            joined: None,
            alias: "".into(),
        }
    }
    .insert(&c)
    .await;
    assert!(bad.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_feature_types_round_trip() {
    use pgstrata::types::{bit_vec::BitVec, cidr::IpCidr, eui48::MacAddress, geo_types::Point};
    use shapes::schema::{Device, NewDevice};
    let db = fresh_db();
    let mut c = db.async_client().await;
    shapes::MIGRATIONS.run(&mut c).await.unwrap();
    let new = NewDevice {
        id: 7,
        net: Some("10.1.0.0/16".parse::<IpCidr>().unwrap()),
        mac: Some(MacAddress::new([0, 1, 2, 3, 4, 5])),
        flags: Some(BitVec::from_elem(3, true)),
        mask: Some(BitVec::from_bytes(&[0b1010_0000])),
        spot: Some(Point::new(1.5, -2.0)),
        addrs: Some(vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]),
    };
    let stored = new.insert(&c).await.unwrap();
    assert_eq!(stored.net, new.net);
    assert_eq!(stored.mac, new.mac);
    assert_eq!(stored.flags, new.flags);
    assert_eq!(stored.mask, new.mask);
    assert_eq!(stored.spot, new.spot);
    assert_eq!(stored.addrs, new.addrs);
    // xml has no Rust type: the struct leaves it out, and says so.
    assert!(!Device::COLUMNS.contains(&"doc"));
    assert_eq!(Device::COLUMNS.len(), 7);
}
