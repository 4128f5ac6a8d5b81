//! `allowly audit` against the real `allowly serve --dev`: the table, `--json` (the exact signed text, one per
//! line), the filters, the key read only from `ALLOWLY_API_KEY`, and its exit codes.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::{CheckRequest, CreateAuthorizationRequest};
use allowly_core::{Client, ClientConfig};
use common::{Server, allowly_bin};

fn audit(server: &Server, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(allowly_bin());
    cmd.arg("audit").arg("--base-url").arg(server.field("base_url")).args(args).env_remove("ALLOWLY_API_KEY");
    if let Some(key) = key {
        cmd.env("ALLOWLY_API_KEY", key);
    }
    cmd.output().expect("run allowly audit")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

#[tokio::test]
async fn audit_prints_a_filtered_table_and_json_lines() {
    let server = Server::start();
    let runtime_key = server.field("runtime_api_key");
    let setup_key = server.field("setup_api_key");
    let client = Client::new(
        ClientConfig::new(&runtime_key).with_base_url(server.field("base_url")).with_allow_insecure_http(true),
    )
    .unwrap();
    let auth =
        client.create_authorization(&CreateAuthorizationRequest::new("u-cli", "bot-cli", ["mail.send"])).await.unwrap();
    let mut ids = Vec::new();
    for (scope, run) in [("mail.send", "run-1"), ("files.delete", "run-1"), ("mail.send", "run-2")] {
        let mut check = CheckRequest::new(&auth.authorization_id, [scope]);
        check.context = serde_json::json!({"run_id": run}).as_object().cloned();
        let result = client.check(&check).await.unwrap();
        ids.push(result.results[scope].receipt.as_ref().unwrap().receipt_id().to_owned());
    }
    let wait = FetchSignedOptions { poll_interval: Duration::from_millis(50), timeout: Duration::from_secs(20) };
    for id in &ids {
        client.fetch_signed(id, wait).await.unwrap();
    }

    // The table: a header, then the run's two receipts, newest first.
    let out = audit(&server, Some(&setup_key), &["--run-id", "run-1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("ISSUED_AT") && lines[0].contains("ACTION") && lines[0].contains("DECISION"));
    assert!(lines[1].contains(&ids[1]) && lines[1].contains("files.delete") && lines[1].contains("deny"), "{text}");
    assert!(lines[2].contains(&ids[0]) && lines[2].contains("mail.send") && lines[2].contains("allow"), "{text}");
    assert!(!text.contains(&setup_key));

    // --json: JSON Lines of the exact signed text, filtered by action, agent, user and decision.
    let out = audit(
        &server,
        Some(&setup_key),
        &["--json", "--action", "mail.send", "--agent", "bot-cli", "--user", "u-cli", "--decision", "allow"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let got: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["receipt_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, [ids[2].clone(), ids[0].clone()]);
    let signed = client.fetch_signed(&ids[2], wait).await.unwrap();
    assert_eq!(text.lines().next().unwrap(), signed.json(), "the stored bytes, not a re-serialization");

    // --limit caps what is printed (walking pages underneath); a window in the future is just the header.
    let out = audit(&server, Some(&setup_key), &["--json", "--limit", "1"]);
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = audit(&server, Some(&setup_key), &["--since", "2999-01-01T00:00:00Z"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).lines().count(), 1);

    // Usage errors exit 2: no key, a time that is not RFC 3339, a runtime key (403) exits 1 with the typed reason.
    let out = audit(&server, None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALLOWLY_API_KEY"));
    let out = audit(&server, Some(&setup_key), &["--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = audit(&server, Some(&runtime_key), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("insufficient_key_tier") && !stderr.contains(&runtime_key), "{stderr}");
}
