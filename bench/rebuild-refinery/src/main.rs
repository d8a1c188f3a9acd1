mod embedded {
    refinery::embed_migrations!("../migrations/refinery");
}
fn main() {
    println!("{}", embedded::migrations::runner().get_migrations().len());
}
