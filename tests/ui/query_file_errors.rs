mod db {
    pgstrata::embed_migrations!("fixtures/features", queries = "ui/fixtures/bad_queries");
}

fn main() {}
