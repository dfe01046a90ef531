//! `sqlx::migrate!` embeds the migration files at compile time, but cargo does not
//! know about them: without this, adding a migration leaves an incremental build
//! with the old list (sqlx's documented remedy).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
