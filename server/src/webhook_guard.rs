//! Where webhooks may be sent: the SSRF guard of both webhook endpoints.
//!
//! A webhook URL is chosen by whoever holds a setup key, and the server then POSTs to it from inside its own network.
//! Without a guard that is a way to reach loopback services, the private network or a cloud metadata endpoint
//! (169.254.169.254). So an endpoint must be `https` and every address its host resolves to must be public — checked
//! when it is configured and again on every delivery: the delivery client resolves through [`GuardedResolver`], which
//! checks every address and hands the connector only checked ones, so a name that re-resolves to a private address
//! after it was configured (DNS rebinding) is refused at connect time. `allowly serve --dev` allows everything (a
//! developer's receiver is on loopback) unless an allow-list is given; `--webhook-allow <host|cidr>` allows named
//! hosts or address ranges, plain `http` included, for receivers inside the operator's own network. An explicit
//! allow-list is the operator saying which receivers are fine, so it governs under `--dev` too (which also lets the
//! guard be exercised against a dev server).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// An address range of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(text: &str) -> Option<Net> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Net { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Why a URL or an address is refused; the text names the problem for the 422 and the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Plain `http` (or another scheme) outside `--dev` and the allow-list.
    NotHttps,
    /// The host is or resolves to an address that is not public.
    Unsafe { host: String, addr: IpAddr },
    /// The host did not resolve (at configure time an endpoint that cannot be checked is not accepted).
    Dns { host: String },
}

impl Refusal {
    /// The delivery log's error code (0.8.0's `last_error` vocabulary).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotHttps | Refusal::Unsafe { .. } => "unsafe_url",
            Refusal::Dns { .. } => "dns_error",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotHttps => f.write_str(
                "must be an https URL (plain http is allowed only in --dev or for hosts of --webhook-allow)",
            ),
            Refusal::Unsafe { host, addr } => write!(
                f,
                "host {host} resolves to {addr}, which is {} (not allowed outside --dev or --webhook-allow)",
                describe(*addr)
            ),
            Refusal::Dns { host } => write!(f, "host {host} does not resolve"),
        }
    }
}

/// IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible forms are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn describe(ip: IpAddr) -> &'static str {
    non_public_kind(ip).unwrap_or("public")
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        _ if ip.is_unspecified() || o[0] == 0 => "an unspecified / \"this network\" address",
        _ if ip.is_loopback() => "a loopback address",
        [169, 254, 169, 254] => "the cloud metadata address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_private() => "a private address",
        [100, b, ..] if (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        [192, 0, 0, _] | [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "a reserved address",
        [198, b, ..] if b == 18 || b == 19 => "a benchmarking address",
        _ if o[0] >= 224 => "a multicast or reserved address",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match s {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        [0, 0, 0, 0, 0, 0, _, _] => "an IPv4-compatible address",
        [0x64, 0xff9b, ..] => "a NAT64 address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        _ if s[0] & 0xfe00 == 0xfc00 => "a unique local (ULA) address",
        _ if s[0] & 0xffc0 == 0xfe80 => "a link-local address",
        _ if s[0] & 0xffc0 == 0xfec0 => "a site-local address",
        _ if s[0] & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

/// The server's egress policy for webhook URLs.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    dev: bool,
    hosts: Vec<String>,
    nets: Vec<Net>,
}

impl Guard {
    /// `allow` holds `--webhook-allow` entries: an IP address or CIDR (`10.0.0.0/8`, `fd00::/8`) or a host name.
    /// `dev` allows every URL only when `allow` is empty.
    pub fn new(dev: bool, allow: &[String]) -> Result<Guard, String> {
        let mut g = Guard { dev: dev && allow.is_empty(), ..Guard::default() };
        for entry in allow {
            let e = entry.trim();
            if let Some(net) = Net::parse(e) {
                g.nets.push(net);
            } else if !e.is_empty() && !e.contains('/') && url::Host::parse(e).is_ok() {
                g.hosts.push(e.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!("--webhook-allow {e:?} is neither a host name, an IP address nor a CIDR range"));
            }
        }
        Ok(g)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    /// Judges one address `host` resolved to, for a URL that is (`https`) or is not https.
    pub fn check_addr(&self, host: &str, https: bool, ip: IpAddr) -> Result<(), Refusal> {
        if self.dev || self.host_allowed(host) || self.nets.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        if !https {
            return Err(Refusal::NotHttps);
        }
        match non_public_kind(ip) {
            Some(_) => Err(Refusal::Unsafe { host: host.to_string(), addr: ip }),
            None => Ok(()),
        }
    }

    /// Every address must pass: a name answering one public and one private address is refused as a whole.
    pub fn check_addrs(&self, host: &str, https: bool, addrs: &[IpAddr]) -> Result<(), Refusal> {
        if addrs.is_empty() {
            return Err(Refusal::Dns { host: host.to_string() });
        }
        addrs.iter().try_for_each(|ip| self.check_addr(host, https, *ip))
    }

    /// The configure-time check of a parsed URL: a literal address is judged as is, a name is resolved and every
    /// address judged. Nothing is resolved when no answer could make the URL acceptable (plain http, not allowed).
    pub async fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        if self.dev {
            return Ok(());
        }
        let https = url.scheme() == "https";
        let host = url.host_str().unwrap_or_default().to_string();
        if !https && !self.host_allowed(&host) && self.nets.is_empty() {
            return Err(Refusal::NotHttps);
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_addr(&host, https, IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_addr(&host, https, IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => {
                if self.host_allowed(name) {
                    return Ok(());
                }
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs: Vec<IpAddr> = match tokio::net::lookup_host((name, port)).await {
                    Ok(it) => it.map(|a| a.ip()).collect(),
                    Err(_) => Vec::new(),
                };
                self.check_addrs(name, https, &addrs)
            }
            None => Err(Refusal::Dns { host }),
        }
    }
}

/// The delivery client's DNS resolver: resolves, refuses the whole answer if any address fails the guard, and
/// returns only the checked addresses, so the connector can only connect to an address that was judged.
///
/// The resolver does not know the URL's scheme: each delivery first runs [`Guard::check_url`] (scheme and
/// addresses), and the resolver then re-checks the addresses the connection will actually use.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<Guard>,
}

impl GuardedResolver {
    pub fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }

    /// Resolves `host` and checks every address (the part of [`reqwest::dns::Resolve`] that tests call directly).
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, Refusal> {
        let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, 0)).await {
            Ok(it) => it.collect(),
            Err(_) => return Err(Refusal::Dns { host: host.to_string() }),
        };
        let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
        self.guard.check_addrs(host, true, &ips)?;
        Ok(addrs)
    }
}

/// The error a refused resolution surfaces through reqwest; [`refusal_of`] finds it again in the error chain.
#[derive(Debug)]
struct RefusedByGuard(Refusal);

impl std::fmt::Display for RefusedByGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RefusedByGuard {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            match this.resolve_checked(name.as_str()).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(r) => Err(Box::new(RefusedByGuard(r)) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

/// The guard's refusal inside a failed request's error chain, if that is why it failed.
pub fn refusal_of(err: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<RefusedByGuard>() {
            return Some(r.0.clone());
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_non_public_range_is_refused_and_public_ones_pass() {
        let g = Guard::new(false, &[]).unwrap();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fc12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "ff02::1",
        ] {
            assert!(matches!(g.check_addr("h", true, ip(bad)), Err(Refusal::Unsafe { .. })), "{bad} must be refused");
        }
        for good in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(g.check_addr("h", true, ip(good)), Ok(()), "{good}");
        }
        assert_eq!(g.check_addr("h", false, ip("93.184.216.34")), Err(Refusal::NotHttps));
    }

    #[test]
    fn a_mixed_answer_is_refused_as_a_whole() {
        let g = Guard::new(false, &[]).unwrap();
        let r = g.check_addrs("rebind.example", true, &[ip("93.184.216.34"), ip("127.0.0.1")]);
        assert!(matches!(r, Err(Refusal::Unsafe { addr, .. }) if addr == ip("127.0.0.1")), "{r:?}");
        assert!(matches!(g.check_addrs("none.example", true, &[]), Err(Refusal::Dns { .. })));
    }

    #[test]
    fn allow_list_entries_allow_their_hosts_and_ranges_only() {
        let allow = ["10.0.0.0/8".to_string(), "hooks.internal".to_string(), "::1".to_string()];
        let g = Guard::new(false, &allow).unwrap();
        assert_eq!(g.check_addr("x", false, ip("10.9.9.9")), Ok(()));
        assert_eq!(g.check_addr("HOOKS.internal.", false, ip("192.168.0.1")), Ok(()));
        assert_eq!(g.check_addr("x", true, ip("::1")), Ok(()));
        assert_eq!(g.check_addr("x", true, ip("::ffff:10.1.1.1")), Ok(()));
        assert!(g.check_addr("x", true, ip("11.0.0.1")).is_ok());
        assert!(g.check_addr("x", true, ip("192.168.0.1")).is_err());
        for bad in ["10.0.0.0/33", "http://x", "a b", ""] {
            assert!(Guard::new(false, &[bad.to_string()]).is_err(), "{bad}");
        }
        let dev = Guard::new(true, &[]).unwrap();
        assert_eq!(dev.check_addr("x", false, ip("127.0.0.1")), Ok(()));
        // An explicit list governs under --dev too: only what it names passes.
        let listed = Guard::new(true, &["hooks.internal".to_string()]).unwrap();
        assert_eq!(listed.check_addr("hooks.internal", false, ip("127.0.0.1")), Ok(()));
        assert!(listed.check_addr("x", true, ip("127.0.0.1")).is_err());
        assert!(listed.check_addr("x", false, ip("93.184.216.34")).is_err(), "plain http to an unlisted host");
    }

    #[tokio::test]
    async fn urls_are_judged_at_configure_time_without_resolving_hopeless_ones() {
        let g = Guard::new(false, &[]).unwrap();
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(g.check_url(&u("https://93.184.216.34/hook")).await, Ok(()));
        assert_eq!(g.check_url(&u("http://93.184.216.34/hook")).await, Err(Refusal::NotHttps));
        assert!(matches!(g.check_url(&u("https://[::ffff:7f00:1]/")).await, Err(Refusal::Unsafe { .. })));
        assert!(matches!(g.check_url(&u("https://localhost:8443/")).await, Err(Refusal::Unsafe { .. })));
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        let r = GuardedResolver::new(Arc::new(Guard::new(false, &[]).unwrap()));
        assert!(matches!(r.resolve_checked("localhost").await, Err(Refusal::Unsafe { .. })));
        let allowed = GuardedResolver::new(Arc::new(Guard::new(false, &["127.0.0.0/8".into(), "::1".into()]).unwrap()));
        assert!(!allowed.resolve_checked("localhost").await.unwrap().is_empty());
    }
}
