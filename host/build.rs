//! Rebuilds the host when a migration is added: `sqlx::migrate!` embeds the migrations at
//! compile time, and cargo does not otherwise notice a new file in `migrations/`.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
