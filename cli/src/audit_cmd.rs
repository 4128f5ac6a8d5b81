//! `allowly audit`: signed receipts matching filters, newest first, as a table or (`--json`) as JSON Lines of the
//! exact signed text — the export format, so `allowly export verify` checks what `--json` printed.
//!
//! The setup key is read from `ALLOWLY_API_KEY` only, never from an argument (as `allowly mcp` reads its key), so it
//! stays out of shell history and process listings. Exit codes: 0 listed (also when nothing matched), 1 the server
//! or the network failed, 2 usage (bad filters, missing key).

use std::process::ExitCode;

use allowly_core::model::{AuditQuery, AuditRow, MAX_AUDIT_PAGE};
use allowly_core::{Client, ClientConfig, Error, ErrorKind};
use clap::Args;

/// The environment variable holding the setup key.
pub const KEY_ENV: &str = "ALLOWLY_API_KEY";

#[derive(Args)]
pub struct AuditArgs {
    /// The Allowly API (`http://` only for loopback addresses).
    #[arg(long, env = "ALLOWLY_BASE_URL", value_name = "URL")]
    base_url: String,
    /// Only receipts of this run (`context.run_id` of the checks).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Only receipts of this agent.
    #[arg(long = "agent", alias = "agent-id", value_name = "ID")]
    agent_id: Option<String>,
    /// Only receipts of this user.
    #[arg(long = "user", alias = "user-id", value_name = "ID")]
    user_id: Option<String>,
    /// Only receipts of this authorization.
    #[arg(long, value_name = "ID")]
    authorization_id: Option<String>,
    /// Only this action: a check's scope, or an event name such as `authorization.create`.
    #[arg(long, value_name = "NAME")]
    action: Option<String>,
    /// Only this decision (`allow`, `deny`, `confirm`, `escalate`, or an event's decision).
    #[arg(long, value_name = "D")]
    decision: Option<String>,
    /// Issued at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Issued before this RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Print at most this many receipts (newest first); 0 prints every match.
    #[arg(long, default_value_t = 100, value_name = "N")]
    limit: usize,
    /// JSON Lines: one signed receipt per line, exactly as the server stored it.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AuditArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("allowly audit: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(list(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("allowly audit: {e}");
            let usage = matches!(e.kind(), ErrorKind::Validation | ErrorKind::Config | ErrorKind::Authentication);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

async fn list(args: &AuditArgs) -> Result<(), Error> {
    let key = std::env::var(KEY_ENV)
        .map_err(|_| Error::Config { message: format!("set {KEY_ENV} to an Allowly setup API key") })?;
    let client = Client::new(
        ClientConfig::new(key)
            .with_base_url(&args.base_url)
            .with_allow_insecure_http(crate::mcp::url_is_loopback(&args.base_url))
            .with_user_agent(concat!("allowly-cli/", env!("CARGO_PKG_VERSION"))),
    )?;
    let page_size = if args.limit == 0 { MAX_AUDIT_PAGE } else { args.limit.min(MAX_AUDIT_PAGE as usize) as u32 };
    let query = AuditQuery {
        user_id: args.user_id.clone(),
        agent_id: args.agent_id.clone(),
        authorization_id: args.authorization_id.clone(),
        run_id: args.run_id.clone(),
        action: args.action.clone(),
        decision: args.decision.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        limit: Some(page_size.max(1)),
    };
    let mut pages = client.audit_pages(query);
    let mut rows = Vec::new();
    let mut printed = 0usize;
    'pages: while let Some(page) = pages.next_page().await? {
        for receipt in &page.receipts {
            if args.limit != 0 && printed == args.limit {
                break 'pages;
            }
            printed += 1;
            if args.json {
                println!("{}", receipt.json());
            } else {
                rows.push(AuditRow::of(receipt)?);
            }
        }
    }
    if !args.json {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// A plain text table, columns padded to their widest cell; only the header when nothing matched.
fn table(rows: &[AuditRow]) -> String {
    let header = ["ISSUED_AT", "RECEIPT_ID", "ACTION", "DECISION", "REASON", "USER", "AGENT"];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.issued_at.as_str(),
                r.receipt_id.as_str(),
                r.action.as_str(),
                r.decision.as_str(),
                r.reason.as_str(),
                r.user_id.as_str(),
                r.agent_id.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: [&str; 7]| {
        let padded: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header);
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_pads_columns_to_the_widest_cell() {
        let row = AuditRow {
            receipt_id: "rcp_1".into(),
            issued_at: "2026-01-01T00:00:00.000Z".into(),
            action: "mail.send".into(),
            decision: "allow".into(),
            reason: "scope_granted".into(),
            user_id: "u".into(),
            agent_id: "bot".into(),
            authorization_id: None,
        };
        let text = table(&[row]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].find("RECEIPT_ID"), lines[1].find("rcp_1"));
        assert_eq!(lines[0].find("REASON"), lines[1].find("scope_granted"));
        assert!(lines[1].ends_with("bot"));
    }
}
