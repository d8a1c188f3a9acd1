//! Query files and `query!` / `query_as!` against PostgreSQL: the generated functions
//! and the inline macros send the query, bind typed arguments and read typed rows.

use pgstrata::types::rust_decimal::Decimal;
use pgstrata_testkit::fresh_db;

mod features {
    pgstrata::embed_migrations!(
        "fixtures/features",
        config = "fixtures/features/pgstrata.toml",
        queries = "fixtures/queries"
    );
}

use features::queries;
use features::schema::{archive, billing, Address, Email};

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn query_file_functions_bind_and_read_typed_values() {
    let db = fresh_db();
    let mut client = pgstrata_testkit::connect(db.url()).await.unwrap();
    features::MIGRATIONS.run(&mut client).await.unwrap();

    let email = Email("ada@example.com".into());
    let ada = queries::add_customer(
        &client,
        "person",
        Some("Ada"),
        Some(&email),
        &tags(&["vip", "eu"]),
        Some(billing::PlanTier::Pro),
        "ada",
    )
    .await
    .unwrap();
    // Defaults, the generated column and every value sent come back typed.
    assert_eq!(ada.id, 1);
    assert_eq!(ada.r#type, "person");
    assert_eq!(ada.self_.as_deref(), Some("Ada"));
    assert_eq!(ada.contact, Some(Email("ada@example.com".into())));
    assert_eq!(ada.tags, ["vip", "eu"]);
    assert_eq!(ada.tier, Some(billing::PlanTier::Pro));
    assert_eq!(ada.name_upper, "PERSON");
    assert_eq!(&*ada.alias, "ada");
    assert!(ada.home.is_none());

    let bob = queries::add_customer(&client, "shop", None, None, &tags(&["eu"]), None, "bob")
        .await
        .unwrap();
    assert_eq!((bob.id, bob.self_, bob.tier), (2, None, None));

    queries::add_plan(
        &client,
        billing::PlanTier::Pro,
        Decimal::new(1250, 2),
        Some(5),
    )
    .await
    .unwrap();
    queries::add_plan(&client, billing::PlanTier::Team, Decimal::new(900, 2), None)
        .await
        .unwrap();

    // The LEFT JOIN makes the plan's columns optional; the customer's stay plain.
    let eu = queries::customers_with_plans(&client, &tags(&["eu"]))
        .await
        .unwrap();
    let rows: Vec<(i32, &str, Option<Decimal>, Option<i16>)> = eu
        .iter()
        .map(|r| (r.id, r.r#type.as_str(), r.price, r.seats))
        .collect();
    assert_eq!(
        rows,
        [
            (1, "person", Some(Decimal::new(1250, 2)), Some(5)),
            (2, "shop", None, None)
        ]
    );
    assert_eq!(eu[0].tier, Some(billing::PlanTier::Pro));
    assert!(queries::customers_with_plans(&client, &tags(&["us"]))
        .await
        .unwrap()
        .is_empty());

    let found = queries::customer(&client, 1).await.unwrap();
    let found = found.expect("customer 1 exists");
    assert_eq!((found.id, &*found.alias), (1, "ada"));
    assert_eq!(found.contact, Some(email));
    assert_eq!(found.name_upper, "PERSON");
    assert!(queries::customer(&client, 99).await.unwrap().is_none());

    assert_eq!(
        queries::rename_customer(&client, "bobby", 2).await.unwrap(),
        1
    );
    assert_eq!(
        queries::rename_customer(&client, "nobody", 99)
            .await
            .unwrap(),
        0
    );

    composites_aggregates_and_single_rows(&client).await;
}

/// The second half of `query_file_functions_bind_and_read_typed_values`, on its data:
/// a composite written and read, an aggregate row, a table's own struct, an enum of
/// another schema, and `:one` refusing no row and a second row.
async fn composites_aggregates_and_single_rows(client: &tokio_postgres::Client) {
    let home = Address {
        street: Some("1 Main St".into()),
        zip: Some(12345),
    };
    queries::move_home(client, Some(&home), 2).await.unwrap();
    assert_eq!(queries::home(client, 2).await.unwrap().home, Some(home));
    assert_eq!(queries::home(client, 1).await.unwrap().home, None);

    let totals = queries::plan_totals(client).await.unwrap();
    let (plans, seats, top): (i64, Option<i64>, Option<Decimal>) =
        (totals.plans, totals.seats, totals.top_price);
    assert_eq!(
        (plans, seats, top),
        (2, Some(5), Some(Decimal::new(1250, 2)))
    );

    // A whole row of billing.plans is the table's own struct.
    let pro: Vec<billing::Plan> = queries::plans_of_tier(client, &[billing::PlanTier::Pro])
        .await
        .unwrap();
    assert_eq!(pro.len(), 1);
    assert_eq!(
        (pro[0].tier, pro[0].seats),
        (billing::PlanTier::Pro, Some(5))
    );

    let written = queries::write_diary(client, 7, archive::Feeling::Fine)
        .await
        .unwrap();
    assert_eq!((written.id, written.f), (7, archive::Feeling::Fine));

    // `:one` with no row is an error, not a default; so is a second row.
    let none = queries::home(client, 99).await;
    assert!(none.is_err(), "{none:?}");
    let two = pgstrata::query!("SELECT id FROM customers")
        .fetch_one(client)
        .await;
    assert!(two.is_err(), "two customers, one expected: {two:?}");
}

#[test]
fn query_file_functions_have_blocking_twins_and_prepared_forms() {
    let db = fresh_db();
    let mut c = db.client();
    features::MIGRATIONS.run_blocking(&mut c).unwrap();
    let added = queries::add_customer_blocking(&mut c, "person", None, None, &tags(&[]), None, "x")
        .unwrap();
    assert_eq!(added.id, 1);
    let mut tx = c.transaction().unwrap();
    assert_eq!(
        queries::rename_customer_blocking(&mut tx, "y", 1).unwrap(),
        1
    );
    tx.rollback().unwrap();
    let back = queries::customer_blocking(&mut c, 1).unwrap();
    assert_eq!(back.map(|r| r.alias.to_string()), Some("x".to_string()));
    assert_eq!(queries::customer::SQL.trim_start().get(..6), Some("SELECT"));
}

#[tokio::test]
async fn prepared_statements_run_many_times() {
    let db = fresh_db();
    let mut client = pgstrata_testkit::connect(db.url()).await.unwrap();
    features::MIGRATIONS.run(&mut client).await.unwrap();
    let insert = queries::add_customer::prepare(&client).await.unwrap();
    let read = queries::customer::prepare(&client).await.unwrap();
    for i in 1..=20 {
        let name = format!("c{i}");
        let row = insert
            .run(&client, "person", None, None, &tags(&[]), None, &name)
            .await
            .unwrap();
        assert_eq!(row.id, i);
        let back = read.run(&client, i).await.unwrap();
        assert_eq!(back.map(|r| r.alias.to_string()), Some(name));
    }
}

/// A struct of the caller's, filled by `query_as!` field by field.
#[derive(Debug, PartialEq)]
struct Named {
    id: i32,
    alias: String,
    tier: Option<billing::PlanTier>,
}

#[tokio::test]
async fn inline_queries_check_arguments_and_type_rows() {
    let db = fresh_db();
    let mut client = pgstrata_testkit::connect(db.url()).await.unwrap();
    features::MIGRATIONS.run(&mut client).await.unwrap();

    let vip = tags(&["vip"]);
    let added = pgstrata::query!(
        "INSERT INTO customers (\"type\", alias, tags, tier) VALUES ($1, $2, $3, $4)
         RETURNING id, name_upper, tier, joined",
        "person",
        "ada",
        &vip,
        Some(billing::PlanTier::Team)
    )
    .fetch_one(&client)
    .await
    .unwrap();
    // The record's fields carry the inferred types: these bindings are the check.
    let (id, upper, tier): (i32, String, Option<billing::PlanTier>) =
        (added.id, added.name_upper, added.tier);
    let _: pgstrata::types::chrono::NaiveDateTime = added.joined;
    assert_eq!(
        (id, upper.as_str(), tier),
        (1, "PERSON", Some(billing::PlanTier::Team))
    );

    // A nullable column's parameter takes an Option, or a plain value.
    let changed = pgstrata::query!(
        "UPDATE customers SET self = $1 WHERE id = $2",
        Some("me"),
        id
    )
    .execute(&client)
    .await
    .unwrap();
    assert_eq!(changed, 1);
    pgstrata::query!("UPDATE customers SET self = $1 WHERE id = $2", "me too", 1)
        .execute(&client)
        .await
        .unwrap();
    let selves = pgstrata::query!("SELECT self, count(*) AS n FROM customers GROUP BY self")
        .fetch_all(&client)
        .await
        .unwrap();
    let selves: Vec<(Option<String>, i64)> = selves.into_iter().map(|r| (r.self_, r.n)).collect();
    assert_eq!(selves, [(Some("me too".to_string()), 1)]);

    let named: Vec<Named> = pgstrata::query_as!(
        Named,
        "SELECT id, alias, tier FROM customers WHERE tags @> $1 ORDER BY id",
        &vip
    )
    .fetch_all(&client)
    .await
    .unwrap();
    assert_eq!(
        named,
        [Named {
            id: 1,
            alias: "ada".into(),
            tier: Some(billing::PlanTier::Team)
        }]
    );
    let missing = pgstrata::query_as!(
        Named,
        "SELECT id, alias, tier FROM customers WHERE id = $1",
        9
    )
    .fetch_optional(&client)
    .await
    .unwrap();
    assert_eq!(missing, None);
}

#[test]
fn inline_queries_run_on_blocking_clients() {
    let db = fresh_db();
    let mut c = db.client();
    features::MIGRATIONS.run_blocking(&mut c).unwrap();
    let n = pgstrata::query!(
        "INSERT INTO diary (id, f) SELECT g, $1 FROM generate_series(1, $2) g",
        archive::Feeling::Sad,
        3
    )
    .execute_blocking(&mut c)
    .unwrap();
    assert_eq!(n, 3);
    let rows = pgstrata::query!("SELECT id, f FROM diary WHERE id > $1 ORDER BY id", 1)
        .fetch_all_blocking(&mut c)
        .unwrap();
    let rows: Vec<(i32, archive::Feeling)> = rows.into_iter().map(|r| (r.id, r.f)).collect();
    assert_eq!(
        rows,
        [(2, archive::Feeling::Sad), (3, archive::Feeling::Sad)]
    );
}
