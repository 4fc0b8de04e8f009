//! Rebuilds the host when a file is added to the web console: the
//! `include_dir!` in `src/api/console.rs` embeds `console/` and tracks the
//! files it found there, but cannot see a new one.

fn main() {
    println!("cargo:rerun-if-changed=console");
}
