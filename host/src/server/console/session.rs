//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie, mapped in
//! memory to the credential the operator logged in with. The credential never goes
//! back to the browser, into a URL or a log line; the gateway re-checks it on every
//! request, so a credential revoked elsewhere stops its console sessions at once. A
//! restart forgets every session (the operator logs in again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie that carries a session id.
pub const COOKIE: &str = "wagate_console";

/// A session ends after this long without a request.
pub const IDLE_TTL: Duration = Duration::from_secs(2 * 3600);

/// A session ends this long after login, however busy.
pub const MAX_TTL: Duration = Duration::from_secs(12 * 3600);

/// Most sessions held at once; a login past it drops the oldest session.
const MAX_SESSIONS: usize = 10_000;

/// Who a session acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// The admin token: every org, the admin API.
    Admin(String),
    /// A credential of one org (an api key, or any kind the gateway resolves).
    Credential(String),
}

impl Login {
    /// The secret to present as `Authorization: Bearer` on the API the session calls.
    pub fn secret(&self) -> &str {
        match self {
            Login::Admin(s) | Login::Credential(s) => s,
        }
    }
}

struct Session {
    login: Login,
    created: Instant,
    last_seen: Instant,
}

/// The live console sessions.
#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `login`; returns its id (256 random bits, base64url).
    pub fn open(&self, login: Login) -> String {
        let id = crate::util::new_secret("");
        let now = Instant::now();
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| alive(s, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                login,
                created: now,
                last_seen: now,
            },
        );
        id
    }

    /// The login of a live session (and marks it used); `None` for an unknown or
    /// expired id.
    pub fn get(&self, id: &str) -> Option<Login> {
        let now = Instant::now();
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let session = map.get_mut(id)?;
        if !alive(session, now) {
            map.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.login.clone())
    }

    /// Ends a session (logout).
    pub fn close(&self, id: &str) {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last_seen) < IDLE_TTL && now.duration_since(s.created) < MAX_TTL
}

/// The session id in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then_some(value)
    })
}

/// The `Set-Cookie` value for a new session (`secure` when served over HTTPS).
pub fn set_cookie(id: &str, path: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={}{}",
        MAX_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn clear_cookie(path: &str, secure: bool) -> String {
    format!(
        "{COOKIE}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_closed() {
        let sessions = Sessions::default();
        let id = sessions.open(Login::Credential("wa_x".into()));
        assert_eq!(id.len(), 43);
        assert_eq!(sessions.get(&id), Some(Login::Credential("wa_x".into())));
        assert_eq!(sessions.get("other"), None);
        sessions.close(&id);
        assert_eq!(sessions.get(&id), None);
    }

    #[test]
    fn the_cookie_is_found_among_others_and_is_strict() {
        assert_eq!(
            from_cookie_header("a=1; wagate_console=abc; b=2"),
            Some("abc")
        );
        assert_eq!(from_cookie_header("wagate_console="), None);
        assert_eq!(from_cookie_header("x_wagate_console=abc"), None);
        let c = set_cookie("abc", "/console", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(clear_cookie("/console", false).contains("Max-Age=0"));
    }
}
