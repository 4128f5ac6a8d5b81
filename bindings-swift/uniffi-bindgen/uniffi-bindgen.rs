//! `cargo run -p uniffi-bindgen -- generate --library <liballowly_ffi> --language kotlin|swift ...`
//!
//! Lives in the workspace so the generator is always the exact uniffi version the library was built with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
