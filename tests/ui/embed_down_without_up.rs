mod db {
    pgstrata::embed_migrations!("ui/fixtures/down_without_up");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
