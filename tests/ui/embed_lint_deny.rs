mod db {
    pgstrata::embed_migrations!(
        "ui/fixtures/lint_deny",
        config = "ui/fixtures/lint_deny/pgstrata.toml"
    );
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
