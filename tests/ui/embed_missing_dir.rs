mod db {
    pgstrata::embed_migrations!("ui/fixtures/no_such_folder");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
