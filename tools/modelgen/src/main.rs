//! `cargo run -p allowly-modelgen` (what `make models` runs): rewrites every generated binding model file.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match allowly_modelgen::generate(&root) {
        Ok(files) => {
            for (path, text) in files {
                let full = root.join(&path);
                let old = std::fs::read_to_string(&full).unwrap_or_default();
                if old != text {
                    if let Err(e) = std::fs::write(&full, text) {
                        eprintln!("modelgen: cannot write {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                    println!("modelgen: wrote {}", path.display());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("modelgen: {e}");
            ExitCode::FAILURE
        }
    }
}
