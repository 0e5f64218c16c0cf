//! The outbound guard against server-side request forgery: every connection the host
//! opens for a caller (the `http-out` grant, and through it webhook deliveries, the
//! Chatwoot sink's API calls and the bearer plugin's JWKS fetch) goes through
//! [`connect`], which resolves the name once, checks every resolved address, and
//! connects only to an address it checked. Loopback, private, link-local (cloud
//! metadata at 169.254.169.254 among them), CGNAT, unspecified, multicast and
//! broadcast addresses, in IPv4 and every IPv6 form that embeds one, are refused
//! unless the operator allows them (`[outbound] allow`, `WAGATE_OUTBOUND_ALLOW`).
//!
//! Checking the address that is actually dialled, not the name, is what defeats DNS
//! rebinding (a name that resolves to a public address when a URL is set and to
//! 127.0.0.1 when it is used). `http-out` follows no redirects: a redirect reaches the
//! plugin as a response, and any request it makes to the new location is a new fetch
//! through this same check.
//!
//! [`check_url`] is the courtesy check when a URL is set: a literal address (in any
//! spelling the WHATWG URL parser normalises, `2130706433`, `0x7f000001`, `127.1`) or
//! `localhost` in a refused range is rejected with a clear error then, rather than
//! failing at every delivery. It does not resolve names; [`connect`] is the guard.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwap;
use serde::Deserialize;

/// The `[outbound]` table of `wagate.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Refused ranges the operator allows anyway, as CIDRs (`10.1.2.3/32`,
    /// `127.0.0.0/8`, `::1/128`); a bare address is a single host.
    pub allow: Vec<String>,
}

/// An address range: `addr/prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| format!("`{s}` is not an address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

/// The effective outbound policy: which refused addresses are allowed anyway.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    allow: Vec<Cidr>,
}

impl Policy {
    /// A policy that lets the given ranges through the refusal of private and local
    /// addresses (the `[outbound] allow` setting).
    pub fn new(allow: Vec<Cidr>) -> Self {
        Policy { allow }
    }

    /// `[outbound] allow` plus the comma-separated CIDRs of `env`
    /// (`WAGATE_OUTBOUND_ALLOW`).
    pub fn from_config(config: &OutboundConfig, env: Option<&str>) -> anyhow::Result<Self> {
        let from_env = env.into_iter().flat_map(|e| e.split(','));
        let allow = config
            .allow
            .iter()
            .map(String::as_str)
            .chain(from_env)
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.parse::<Cidr>()
                    .map_err(|e| anyhow::anyhow!("outbound allow: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Policy { allow })
    }

    /// `None` when the host may connect to `ip`; otherwise the name of the refused
    /// range it is in.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let range = refused_range(ip)?;
        (!self.allow.iter().any(|c| c.contains(ip))).then_some(range)
    }
}

static POLICY: LazyLock<ArcSwap<Policy>> =
    LazyLock::new(|| ArcSwap::from_pointee(Policy::default()));

/// Installs the process's policy (at startup, from the configuration). Until then
/// nothing in a refused range is allowed.
pub fn install(policy: Policy) {
    POLICY.store(Arc::new(policy));
}

/// The process's policy.
pub fn policy() -> Arc<Policy> {
    POLICY.load_full()
}

/// An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, the deprecated
/// compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) as that IPv4 address: the host's
/// stack or a translator would deliver it there.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = Ipv4Addr::from((u128::from(v6) & 0xffff_ffff) as u32);
    if s[..6] == [0; 6] && !matches!(u128::from(v6), 0 | 1) {
        return IpAddr::V4(embedded);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return IpAddr::V4(embedded);
    }
    ip
}

/// The refused range `ip` is in, by name; `None` for an ordinary public address.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if o[0] == 0 {
                Some("unspecified")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("shared (CGNAT)")
            } else if v4.is_broadcast() {
                Some("broadcast")
            } else if v4.is_multicast() {
                Some("multicast")
            } else if o[0] >= 240 {
                Some("reserved")
            } else if o[..3] == [192, 0, 0] || (o[0] == 198 && (o[1] & 0xfe) == 18) {
                // IETF protocol assignments and the benchmarking range: never a
                // receiver on the internet.
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if (first & 0xfe00) == 0xfc00 {
                Some("private (ULA)")
            } else if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

/// Why a destination was refused.
#[derive(Debug)]
pub enum ConnectError {
    /// The policy refused every address the host resolved to.
    Refused(String),
    /// Name resolution or the connection failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused(why) => f.write_str(why),
            ConnectError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Resolves `host` (a name or a literal address, IPv6 with or without brackets) once,
/// drops every address the policy refuses, and connects to the first remaining one
/// that answers. The address dialled is always one that was checked.
pub async fn connect(host: &str, port: u16) -> Result<tokio::net::TcpStream, ConnectError> {
    let mut last_err = None;
    for addr in allowed_addrs(host, port).await? {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_err = Some(e),
        }
    }
    Err(ConnectError::Io(last_err.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address to connect to")
    })))
}

/// What `host` resolves to (once), without the addresses the policy refuses: never
/// empty. For a connection made elsewhere (through a proxy) that must reach only a
/// checked address.
pub async fn allowed_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectError> {
    let bare = host.trim_matches(['[', ']']);
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(ConnectError::Io)?
            .collect(),
    };
    let policy = policy();
    let mut refused = None;
    let mut allowed = Vec::with_capacity(addrs.len());
    for addr in addrs {
        match policy.refusal(addr.ip()) {
            Some(range) => {
                refused.get_or_insert((addr.ip(), range));
            }
            None => allowed.push(addr),
        }
    }
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    Err(match refused {
        Some((ip, range)) => ConnectError::Refused(format!(
            "`{bare}` resolves to {ip}, a {range} address the gateway does not connect to"
        )),
        None => ConnectError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("`{bare}` resolves to no address"),
        )),
    })
}

/// The TLS client configuration of every outbound connection, built once: Mozilla's
/// roots plus an operator's extra CA file (`WAGATE_EXTRA_CA_FILE`, PEM), e.g. for
/// receivers behind a private CA.
pub fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    static CONNECTOR: std::sync::OnceLock<Result<tokio_rustls::TlsConnector, String>> =
        std::sync::OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Ok(path) = std::env::var("WAGATE_EXTRA_CA_FILE") {
                let file = std::fs::File::open(&path)
                    .map_err(|e| format!("opening WAGATE_EXTRA_CA_FILE {path}: {e}"))?;
                for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(file)) {
                    let cert = cert.map_err(|e| format!("reading {path}: {e}"))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("adding a CA from {path}: {e}"))?;
                }
            }
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
            Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
                config,
            )))
        })
        .clone()
}

/// The set-time check of a webhook or integration URL: `Err` with a message for the
/// caller when its host is a literal address, or `localhost`, in a range the policy
/// refuses. Names are not resolved here ([`connect`] checks what they resolve to).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
    let candidates: Vec<IpAddr> = match parsed.host() {
        None => return Err("has no host".into()),
        Some(url::Host::Ipv4(v4)) => vec![IpAddr::V4(v4)],
        Some(url::Host::Ipv6(v6)) => vec![IpAddr::V6(v6)],
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            // RFC 6761: `localhost` and every name under it are loopback, whatever DNS
            // says.
            if d == "localhost" || d.ends_with(".localhost") {
                vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                ]
            } else {
                return Ok(());
            }
        }
    };
    let policy = policy();
    // Refused only when no form of the host is allowed (`localhost` may reach either
    // loopback address).
    let refusals: Vec<_> = candidates
        .iter()
        .map(|ip| (ip, policy.refusal(*ip)))
        .collect();
    match refusals.iter().find(|(_, r)| r.is_none()) {
        Some(_) => Ok(()),
        None => {
            let (ip, range) = refusals[0];
            Err(format!(
                "points to {ip}, a {} address the gateway does not connect to",
                range.unwrap_or("refused")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refused_ranges_in_every_form() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
        ] {
            assert!(refused_range(ip(s)).is_some(), "{s} should be refused");
        }
        for s in [
            "1.1.1.1",
            "93.184.216.34",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused_range(ip(s)), None, "{s} should be public");
        }
    }

    #[test]
    fn the_allowlist_opens_exactly_its_ranges() {
        let p = Policy::from_config(
            &OutboundConfig {
                allow: vec!["127.0.0.2/32".into()],
            },
            Some("10.1.2.3, ::1/128"),
        )
        .unwrap();
        assert_eq!(p.refusal(ip("127.0.0.2")), None);
        assert_eq!(p.refusal(ip("::ffff:127.0.0.2")), None);
        assert_eq!(p.refusal(ip("127.0.0.1")), Some("loopback"));
        assert_eq!(p.refusal(ip("10.1.2.3")), None);
        assert_eq!(p.refusal(ip("10.1.2.4")), Some("private"));
        assert_eq!(p.refusal(ip("::1")), None);
        assert_eq!(p.refusal(ip("8.8.8.8")), None);
        assert!(
            Policy::from_config(
                &OutboundConfig {
                    allow: vec!["10.0.0.0/33".into()]
                },
                None
            )
            .is_err()
        );
        assert!(Policy::from_config(&OutboundConfig::default(), Some("nonsense")).is_err());
    }

    #[test]
    fn literal_spellings_are_normalised_at_set_time() {
        // The default policy (nothing allowed) is installed in unit tests.
        for url in [
            "http://127.0.0.1/",
            "http://localhost:8080/x",
            "http://LOCALHOST./",
            "http://a.b.localhost/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.7/",
            "https://192.168.0.10:8443/",
        ] {
            assert!(check_url(url).is_err(), "{url} should be refused");
        }
        for url in [
            "https://example.com/hook",
            "http://8.8.8.8/",
            "http://localhostx.com/",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }
}
