//! `allowly agent enroll` against the real `allowly serve --dev`: the setup key comes from the environment only, the
//! credential file is written 0600 and never printed, an existing file is kept without `--force`, and the tokens
//! the written credential signs are accepted on the agent's own authorization.

mod common;

use std::process::{Command, Output};

use allowly_core::agent_identity::AgentCredential;
use allowly_core::model::{CheckRequest, CreateAuthorizationRequest};
use allowly_core::{Client, ClientConfig};

fn enroll(server: &common::Server, key: Option<&str>, out: &std::path::Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(common::allowly_bin());
    cmd.args(["agent", "enroll", "cli-agent", "--out"]).arg(out).args(extra);
    cmd.env("ALLOWLY_BASE_URL", server.field("base_url")).env_remove("ALLOWLY_SETUP_API_KEY");
    if let Some(k) = key {
        cmd.env("ALLOWLY_SETUP_API_KEY", k);
    }
    cmd.output().expect("run allowly agent enroll")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_writes_a_private_credential_whose_tokens_are_accepted() {
    let server = common::Server::start();
    let setup = server.field("setup_api_key");
    let out = server.dir.path().join("agent.json");

    let no_key = enroll(&server, None, &out, &[]);
    assert_eq!(no_key.status.code(), Some(2), "{}", String::from_utf8_lossy(&no_key.stderr));
    assert!(!out.exists());

    let done = enroll(&server, Some(&setup), &out, &[]);
    let printed = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    assert_eq!(done.status.code(), Some(0), "{printed}");
    let text = std::fs::read_to_string(&out).expect("credential file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "credential file mode {mode:o}");
    }
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let private = doc["private_key_jwk"]["d"].as_str().expect("d");
    assert!(!printed.contains(private) && !printed.contains(&setup), "secrets printed: {printed}");
    let credential = AgentCredential::from_json(&text).expect("the file loads");
    assert_eq!(credential.agent_id, "cli-agent");
    assert_eq!(credential.workspace_id, server.field("workspace_id"));

    // A second run keeps the file unless told otherwise.
    let again = enroll(&server, Some(&setup), &out, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).expect("file"), text);
    let forced = enroll(&server, Some(&setup), &out, &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", String::from_utf8_lossy(&forced.stderr));
    let replaced = AgentCredential::from_json(&std::fs::read_to_string(&out).expect("file")).expect("loads");
    assert_ne!(replaced.key_id, credential.key_id);

    // Its tokens are accepted on the agent's own authorization.
    let config =
        |key: &str| ClientConfig::new(key).with_base_url(server.field("base_url")).with_allow_insecure_http(true);
    let runtime = Client::new(config(&server.field("runtime_api_key"))).expect("client");
    let grant = runtime
        .create_authorization(&CreateAuthorizationRequest::new("u", "cli-agent", ["s"]))
        .await
        .expect("authorization");
    let agent = Client::new(config(&server.field("runtime_api_key")).with_agent_credential(replaced)).expect("client");
    let response = agent.check(&CheckRequest::new(grant.authorization_id, ["s"])).await.expect("check");
    let result = response.result("s").expect("s");
    assert_eq!((result.reason.as_str(), result.is_fallback), ("scope_granted", false));
}
