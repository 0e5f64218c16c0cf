//! An instance's outbound proxy (Evolution's `/proxy/set`): the HTTP or SOCKS proxy
//! its WhatsApp connection and media transfers go through. Stored with the instance
//! (so it goes when the instance does) and handed to the link, which dials through
//! it from the session's next connection on (`whatsapp/real/proxy.rs`). The sim link
//! stores it and has nothing to dial.
//!
//! The password is kept as given (the link needs it to authenticate) and never
//! answered back: [`Core::instance_proxy`] masks it.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Core;
use super::model::{Capability, CoreError, CoreResult, InstanceRef, Principal};

/// What a read answers instead of a stored password.
pub const PASSWORD_MASK: &str = "********";
/// How long saving a proxy waits to reach it (the check Evolution makes first).
const REACH_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest host name or credential accepted.
const MAX_FIELD: usize = 255;

/// How the proxy is spoken to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyProtocol {
    /// HTTP `CONNECT` over plain TCP to the proxy.
    Http,
    /// HTTP `CONNECT` over TLS to the proxy.
    Https,
    /// SOCKS4a (no password; a user id when `username` is set).
    Socks4,
    /// SOCKS5, with username/password authentication when given.
    Socks5,
}

impl ProxyProtocol {
    /// The protocol's name as the dialects spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyProtocol::Http => "http",
            ProxyProtocol::Https => "https",
            ProxyProtocol::Socks4 => "socks4",
            ProxyProtocol::Socks5 => "socks5",
        }
    }

    /// Parses a dialect's spelling (case-insensitive).
    pub fn parse(s: &str) -> CoreResult<Self> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(ProxyProtocol::Http),
            "https" => Ok(ProxyProtocol::Https),
            "socks4" => Ok(ProxyProtocol::Socks4),
            "socks5" => Ok(ProxyProtocol::Socks5),
            other => Err(CoreError::Invalid(format!(
                "unknown proxy protocol `{other}` (expected http, https, socks4 or socks5)"
            ))),
        }
    }
}

/// An instance's proxy.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    /// Off: stored but not used (the connection goes direct).
    pub enabled: bool,
    /// How it is spoken to.
    pub protocol: ProxyProtocol,
    /// Host name or IP address (no scheme, no port).
    pub host: String,
    /// 1 to 65535.
    pub port: u16,
    /// Basic / SOCKS5 user name (SOCKS4: the user id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Kept as given: the link authenticates with it; reads mask it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl std::fmt::Debug for Proxy {
    // Never the password, not even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("enabled", &self.enabled)
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Refuses what could never be dialled.
    pub fn validate(&self) -> CoreResult<()> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(CoreError::Invalid("the proxy host is empty".into()));
        }
        if host.len() > MAX_FIELD || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(CoreError::Invalid(format!(
                "`{host}` is not a host name or IP address"
            )));
        }
        if self.port == 0 {
            return Err(CoreError::Invalid(
                "the proxy port must be between 1 and 65535".into(),
            ));
        }
        for (name, value) in [("username", &self.username), ("password", &self.password)] {
            if value.as_deref().is_some_and(|v| v.len() > MAX_FIELD) {
                return Err(CoreError::Invalid(format!(
                    "the proxy {name} is longer than {MAX_FIELD} bytes"
                )));
            }
        }
        if self.protocol == ProxyProtocol::Socks4 && self.password.is_some() {
            return Err(CoreError::Invalid(
                "a socks4 proxy takes no password (use socks5)".into(),
            ));
        }
        Ok(())
    }

    /// The proxy as reads answer it: the password masked.
    pub fn masked(mut self) -> Self {
        if self.password.as_deref().is_some_and(|p| !p.is_empty()) {
            self.password = Some(PASSWORD_MASK.into());
        }
        self
    }

    /// `host:port`, bracketing an IPv6 literal.
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The proxy the link dials through: `None` when off.
    pub fn active(proxy: Option<&Proxy>) -> Option<Proxy> {
        proxy.filter(|p| p.enabled).cloned()
    }
}

impl Core {
    /// The proxy instance `instance_id` dials through now (an enabled one), if any:
    /// the media the host fetches from URLs for it goes through it too.
    pub(crate) fn proxy_in_use(&self, instance_id: &str) -> CoreResult<Option<Proxy>> {
        Ok(self
            .record_by_id(instance_id)?
            .and_then(|r| r.proxy)
            .filter(|p| p.enabled))
    }

    /// The instance's proxy, password masked; `None` when none was ever set. Needs
    /// `read`.
    pub async fn instance_proxy(
        &self,
        p: &Principal,
        which: &InstanceRef,
    ) -> CoreResult<Option<Proxy>> {
        Ok(self
            .authorize(p, which, Capability::Read)?
            .proxy
            .map(Proxy::masked))
    }

    /// Sets (or, with `None`, removes) the instance's proxy. An enabled proxy must
    /// accept a TCP connection first (Evolution refuses a proxy it cannot use); the
    /// session dials through it from its next connection on (a restart applies it
    /// at once). A password equal to [`PASSWORD_MASK`] keeps the stored one, so a
    /// client can send back what it read. Needs `manage`.
    pub async fn set_instance_proxy(
        self: &Arc<Self>,
        p: &Principal,
        which: &InstanceRef,
        proxy: Option<Proxy>,
    ) -> CoreResult<Option<Proxy>> {
        let record = self.authorize(p, which, Capability::Manage)?;
        let proxy = match proxy {
            Some(mut proxy) => {
                proxy.validate()?;
                if proxy.password.as_deref() == Some(PASSWORD_MASK) {
                    proxy.password = record.proxy.as_ref().and_then(|old| old.password.clone());
                }
                if proxy.enabled {
                    reach(&proxy).await?;
                }
                Some(proxy)
            }
            None => None,
        };
        let stored = proxy.clone();
        self.update_record(&record.instance.id, move |rec| rec.proxy = stored.clone())
            .await?;
        self.link
            .set_proxy(&record.instance.id, Proxy::active(proxy.as_ref()));
        tracing::info!(
            instance = %record.instance.name,
            proxy = proxy.as_ref().filter(|p| p.enabled).map(|p| format!("{}://{}", p.protocol.as_str(), p.address())).unwrap_or_else(|| "none".into()),
            "instance proxy set"
        );
        Ok(proxy.map(Proxy::masked))
    }
}

/// Opens (and drops) a TCP connection to the proxy: a typo or a dead proxy is
/// refused when it is set, not found later in a log.
async fn reach(proxy: &Proxy) -> CoreResult<()> {
    let host = proxy.host.trim_matches(['[', ']']);
    match tokio::time::timeout(
        REACH_TIMEOUT,
        tokio::net::TcpStream::connect((host, proxy.port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(CoreError::Invalid(format!(
            "the proxy {} cannot be reached: {e}",
            proxy.address()
        ))),
        Err(_) => Err(CoreError::Invalid(format!(
            "the proxy {} did not answer within {} s",
            proxy.address(),
            REACH_TIMEOUT.as_secs()
        ))),
    }
}
