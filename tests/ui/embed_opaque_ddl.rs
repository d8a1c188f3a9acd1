mod db {
    pgstrata::embed_migrations!("ui/fixtures/opaque_ddl");
}

fn main() {
    let _ = db::MIGRATIONS.len();
}
