mod db {
    pgstrata::embed_migrations!(
        "ui/fixtures/override_unknown_column",
        config = "ui/fixtures/override_unknown_column/pgstrata.toml"
    );
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
