mod db {
    pgstrata::embed_migrations!("ui/fixtures/duplicate");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
