mod db {
    pgstrata::embed_migrations!("ui/fixtures/name_collision");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
