//! `embed_migrations!` reads `migrations/` at compile time, and Cargo does not know it did:
//! without this, a migration added or edited after the last build is missing from the binary
//! while the directory says otherwise.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
