//! napi-build sets the linker flags a Node addon needs on each platform (on Linux: none beyond a cdylib), so a plain
//! `cargo build` / `cargo clippy` of the workspace works without Node installed.

fn main() {
    napi_build::setup();
}
