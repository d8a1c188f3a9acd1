mod db {
    pgstrata::embed_migrations!("ui/fixtures/unterminated");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
