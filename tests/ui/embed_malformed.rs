mod db {
    pgstrata::embed_migrations!("ui/fixtures/malformed");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
