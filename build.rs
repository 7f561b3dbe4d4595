//! Link flags the engine crates do not emit themselves.

fn main() {
    // espeak-rs-sys builds espeak-ng against the system libsonic (libsonic-dev) but does not
    // ask for it at the final link (DESIGN.md §4).
    println!("cargo:rustc-link-lib=sonic");
    println!("cargo:rerun-if-changed=build.rs");
}
