mod db {
    pgstrata::embed_migrations!(migrations);
}

fn main() {}
