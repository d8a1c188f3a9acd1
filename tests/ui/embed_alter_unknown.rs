mod db {
    pgstrata::embed_migrations!("ui/fixtures/alter_unknown");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
