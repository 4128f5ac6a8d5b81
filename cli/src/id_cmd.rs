//! `allowly id from-email`: the same identifier every SDK computes, for support and backfills.

use std::process::ExitCode;

pub const PEPPER_ENV: &str = "ALLOWLY_PII_PEPPER";

pub fn from_email(email: &str) -> ExitCode {
    let Ok(pepper) = std::env::var(PEPPER_ENV) else {
        eprintln!("error: set {PEPPER_ENV} to the workspace's PII pepper (it is never accepted as an argument)");
        return ExitCode::from(2);
    };
    match allowly_core::identifiers::from_email(email, &pepper) {
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
