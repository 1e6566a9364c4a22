// Re-embed the migrations when a file is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
