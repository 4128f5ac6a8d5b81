//! A TCP proxy that sits between allowly-core's `Client` and the real server and breaks connections on purpose.
//!
//! Each accepted connection takes the next fault from a queued plan (an empty plan passes traffic through). The
//! proxy speaks just enough HTTP/1.1 to find where a request and a response end, so it can record every request it
//! received (the retry tests compare `Idempotency-Key`s) and lose a response *after* the server applied the request —
//! the case where a retry must not become a second side effect. Both directions are rewritten to
//! `Connection: close`, so one connection carries exactly one request and a fault hits exactly one attempt.

// The test binary that includes this module may not use every accessor.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request and the whole response.
    Pass,
    /// Accept, read the request, close without forwarding it: the server never sees it.
    Drop,
    /// Forward the request, then hold the response longer than this (meant to outlast the client's timeout) and
    /// close without sending it.
    Delay(Duration),
    /// Forward the request, then send the response head and half of its body and close.
    Truncate,
    /// Forward the request, then reset the client's connection (SO_LINGER 0) instead of answering.
    Reset,
    /// Close the client's connection at once, but deliver its request to the server this much later: a duplicate
    /// that arrives after the client's retry already succeeded.
    Late(Duration),
}

impl Fault {
    pub fn kind(self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::Drop => "drop",
            Fault::Delay(_) => "delay",
            Fault::Truncate => "truncate",
            Fault::Reset => "reset",
            Fault::Late(_) => "late",
        }
    }

    /// Whether the server saw the request (so its side effect may have happened).
    pub fn forwards(self) -> bool {
        !matches!(self, Fault::Drop)
    }
}

/// One request the proxy received, byte for byte, and what it did with it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub fault: Fault,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    plan: Mutex<VecDeque<Fault>>,
    /// Connections still being handled (a late delivery keeps its count until the server answered it).
    busy: std::sync::atomic::AtomicUsize,
    log: Mutex<Vec<Recorded>>,
    injected: Mutex<BTreeMap<&'static str, u32>>,
}

pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                let state = shared.clone();
                state.busy.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    // An error here is a connection the client already gave up on; the test sees the effect.
                    let _ = handle(client, upstream, &state).await;
                    state.busy.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy { addr, state, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues faults for the next connections, in order.
    pub fn plan(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.plan.lock().unwrap().extend(faults);
    }

    /// Faults still queued (a test asserts its plan was used up, so each fault really hit an attempt).
    pub fn pending(&self) -> usize {
        self.state.plan.lock().unwrap().len()
    }

    /// Waits until no connection is being handled, so every late delivery has reached the server.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.state.busy.load(Ordering::SeqCst) > 0 {
            assert!(tokio::time::Instant::now() < deadline, "proxy connections still busy after 10 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The requests received since the last call.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }

    /// Faults applied so far, by kind (passes not counted).
    pub fn injected(&self) -> BTreeMap<&'static str, u32> {
        self.state.injected.lock().unwrap().clone()
    }
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, state: &State) -> std::io::Result<()> {
    let (head, body) = read_message(&mut client, true).await?;
    let fault = state.plan.lock().unwrap().pop_front().unwrap_or(Fault::Pass);
    state.log.lock().unwrap().push(parse_request(&head, &body, fault));
    if fault != Fault::Pass {
        *state.injected.lock().unwrap().entry(fault.kind()).or_default() += 1;
    }
    if !fault.forwards() {
        return Ok(());
    }
    if let Fault::Late(after) = fault {
        drop(client);
        tokio::time::sleep(after).await;
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(&close_after(&head)).await?;
        server.write_all(&body).await?;
        read_message(&mut server, false).await?;
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&close_after(&head)).await?;
    server.write_all(&body).await?;
    let (response_head, response_body) = read_message(&mut server, false).await?;
    match fault {
        Fault::Pass => {
            client.write_all(&close_after(&response_head)).await?;
            client.write_all(&response_body).await?;
            client.shutdown().await?;
        }
        Fault::Truncate => {
            client.write_all(&close_after(&response_head)).await?;
            client.write_all(&response_body[..response_body.len() / 2]).await?;
            client.shutdown().await?;
        }
        Fault::Reset => {
            client.set_zero_linger()?;
            drop(client);
        }
        Fault::Delay(hold) => {
            tokio::time::sleep(hold).await;
            drop(client);
        }
        Fault::Drop | Fault::Late(_) => unreachable!("handled before forwarding"),
    }
    Ok(())
}

/// Reads one HTTP/1.1 message: the head (through the blank line) and a `Content-Length` body. A response without
/// `Content-Length` is read to EOF, which `Connection: close` makes the server send.
async fn read_message(stream: &mut TcpStream, is_request: bool) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = buf[..head_end].to_vec();
    let mut body = buf[head_end..].to_vec();
    match content_length(&head) {
        Some(len) => {
            while body.len() < len {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None if is_request => body.clear(),
        None => {
            stream.read_to_end(&mut body).await?;
        }
    }
    Ok((head, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_lines(head: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(head).split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn content_length(head: &[u8]) -> Option<usize> {
    header_lines(head).iter().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
    })
}

/// The same head with any `Connection` header replaced by `Connection: close`.
fn close_after(head: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for line in header_lines(head) {
        let is_connection = line.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(&line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn parse_request(head: &[u8], body: &[u8], fault: Fault) -> Recorded {
    let lines = header_lines(head);
    let mut request_line = lines.first().map(String::as_str).unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_owned();
    let path = request_line.next().unwrap_or("").to_owned();
    let headers = lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())))
        .collect();
    Recorded { method, path, headers, body: body.to_vec(), fault }
}
