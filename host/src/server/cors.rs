//! CORS for the surfaces the host serves, so a browser app on another origin can call
//! the dialects, `/core` and the stream tickets.
//!
//! The headers are written by tower-http's [`CorsLayer`]; this module only decides the
//! policy (from `[cors]`, the `WAGATE_CORS_*` variables and the mounted dialects'
//! `[cors_env]`) and which requests it covers:
//!
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here,
//!   before any auth plugin or dialect runs: a browser sends it without credentials.
//!   From an allowed origin it gets the `Access-Control-Allow-*` headers; from any
//!   other, a bare 204 with none, so the browser blocks the real request.
//! - Any other request from an allowed origin gets `Access-Control-Allow-Origin` (and
//!   `-Credentials` when enabled) on whatever the route answers, errors included.
//! - `/admin/...` and `/metrics` are operator surfaces: not covered unless
//!   `admin = true`. The operator console (`/console`) is never covered (the server
//!   passes it by before this policy): its session cookie stays same-origin.
//!
//! A fresh install allows no cross-origin request: with no origin configured the layer
//! is not installed at all and the gateway answers exactly as before (a preflight
//! reaches the routes and is refused like any unknown method). Evolution API's own
//! default (`CORS_ORIGIN` unset means `*`) is not copied: an operator opts in.
//!
//! Precedence, lowest first: `[cors]` in wagate.toml; the variables a mounted dialect
//! declares in its `[cors_env]` (Evolution's `CORS_ORIGIN`, `CORS_METHODS`,
//! `CORS_CREDENTIALS`); `WAGATE_CORS_ORIGINS`, `WAGATE_CORS_METHODS`,
//! `WAGATE_CORS_HEADERS`, `WAGATE_CORS_CREDENTIALS`, `WAGATE_CORS_MAX_AGE`. Lists are
//! comma-separated; `*` in the origins allows any origin (answered by echoing it, as
//! Evolution's `cors` middleware does, so it combines with credentials).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use http::{HeaderName, HeaderValue, Method, Request};
use serde::Deserialize;
use tower_http::cors::{AllowCredentials, AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use crate::plugin::manifest::CorsEnv;

/// The `[cors]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the gateway from a browser (`https://app.example.com`);
    /// `*` for any. Empty (the default): no cross-origin request is allowed.
    pub allow_origins: Vec<String>,
    /// Methods a preflight allows.
    pub allow_methods: Vec<String>,
    /// Request headers a preflight allows; empty or `*`: those the browser asks for
    /// (`apikey`, `authorization`, `content-type`, ...).
    pub allow_headers: Vec<String>,
    /// Whether the browser may send and read credentials (cookies, `Authorization`).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age_secs: u64,
    /// Also cover the operator surfaces `/admin/...` and `/metrics`.
    pub admin: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_origins: Vec::new(),
            allow_methods: ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            allow_headers: Vec::new(),
            allow_credentials: false,
            max_age_secs: 600,
            admin: false,
        }
    }
}

/// The CORS policy in force, built once at start.
#[derive(Clone)]
pub struct Cors {
    layer: CorsLayer,
    origins: Arc<Origins>,
    admin: bool,
}

/// Which origins are allowed.
#[derive(Debug)]
enum Origins {
    Any,
    List(Vec<HeaderValue>),
}

impl Origins {
    fn allows(&self, origin: &HeaderValue) -> bool {
        match self {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o == origin),
        }
    }
}

/// What the server does with one request.
pub(crate) enum Decision {
    /// Not a CORS matter (no policy, no `Origin`, an uncovered path, or a foreign
    /// origin's simple request): route it as before.
    Pass,
    /// A covered request from an allowed origin: through the CORS layer.
    Apply,
    /// A preflight from an origin not allowed: a bare 204, no CORS headers.
    Refuse,
}

impl Cors {
    /// The policy from the config file, the dialects' declared variables and the
    /// gateway's own, read through `env` (the process environment in production).
    /// `None` when no origin is allowed (nothing to install).
    pub fn from_sources(
        file: &CorsConfig,
        declared: &[(String, CorsEnv)],
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<Cors>> {
        let mut cfg = file.clone();
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        for (dialect, vars) in declared {
            overlay(&mut cfg, vars, &env)
                .with_context(|| format!("the CORS variables of dialect `{dialect}`"))?;
        }
        let own = CorsEnv {
            origins: Some("WAGATE_CORS_ORIGINS".into()),
            methods: Some("WAGATE_CORS_METHODS".into()),
            headers: Some("WAGATE_CORS_HEADERS".into()),
            credentials: Some("WAGATE_CORS_CREDENTIALS".into()),
            max_age: Some("WAGATE_CORS_MAX_AGE".into()),
        };
        overlay(&mut cfg, &own, &env)?;
        Cors::new(&cfg)
    }

    /// The policy of a merged configuration; `None` when it allows no origin.
    pub fn new(cfg: &CorsConfig) -> anyhow::Result<Option<Cors>> {
        let origins: Vec<&str> = cfg
            .allow_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/'))
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(None);
        }
        let origins = if origins.contains(&"*") {
            Origins::Any
        } else {
            Origins::List(
                origins
                    .iter()
                    .map(|o| {
                        HeaderValue::from_str(o)
                            .with_context(|| format!("cors: `{o}` is not a valid origin"))
                    })
                    .collect::<anyhow::Result<_>>()?,
            )
        };
        let methods: Vec<Method> = cfg
            .allow_methods
            .iter()
            .map(|m| m.trim())
            .filter(|m| !m.is_empty())
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .with_context(|| format!("cors: `{m}` is not an HTTP method"))
            })
            .collect::<anyhow::Result<_>>()?;
        let headers: Vec<&str> = cfg
            .allow_headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .collect();
        let allow_headers = if headers.is_empty() || headers.contains(&"*") {
            // Echoing what the browser asks for is what `*` means, and unlike a literal
            // `*` it works together with credentials.
            AllowHeaders::mirror_request()
        } else {
            AllowHeaders::list(
                headers
                    .iter()
                    .map(|h| {
                        HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes())
                            .with_context(|| format!("cors: `{h}` is not a header name"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        };
        let origins = Arc::new(origins);
        let check = origins.clone();
        let mut layer = CorsLayer::new()
            // Echo the origin only when it is allowed; `Decision` already filtered,
            // this keeps the layer right on its own.
            .allow_origin(AllowOrigin::predicate(move |o, _| check.allows(o)))
            .allow_methods(AllowMethods::list(methods))
            .allow_headers(allow_headers)
            .max_age(Duration::from_secs(cfg.max_age_secs));
        if cfg.allow_credentials {
            let check = origins.clone();
            layer =
                layer.allow_credentials(AllowCredentials::predicate(move |o, _| check.allows(o)));
        }
        Ok(Some(Cors {
            layer,
            origins,
            admin: cfg.admin,
        }))
    }

    /// Whether `origin` is one the policy allows.
    pub(crate) fn allows_origin(&self, origin: &HeaderValue) -> bool {
        self.origins.allows(origin)
    }

    /// The tower-http layer that writes the headers.
    pub(crate) fn layer(&self) -> &CorsLayer {
        &self.layer
    }

    /// How the server treats `req`.
    pub(crate) fn decide<B>(&self, req: &Request<B>) -> Decision {
        let path = req.uri().path();
        let operator = path == "/metrics" || path == "/admin" || path.starts_with("/admin/");
        let Some(origin) = req.headers().get(http::header::ORIGIN) else {
            return Decision::Pass;
        };
        if operator && !self.admin {
            return Decision::Pass;
        }
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
        match (self.origins.allows(origin), preflight) {
            (true, _) => Decision::Apply,
            (false, true) => Decision::Refuse,
            (false, false) => Decision::Pass,
        }
    }
}

/// Lays the variables `vars` names over `cfg`, where set.
fn overlay(
    cfg: &mut CorsConfig,
    vars: &CorsEnv,
    env: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let read = |name: &Option<String>| name.as_deref().and_then(env);
    let list = |v: String| -> Vec<String> {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if let Some(v) = read(&vars.origins) {
        cfg.allow_origins = list(v);
    }
    if let Some(v) = read(&vars.methods) {
        cfg.allow_methods = list(v);
    }
    if let Some(v) = read(&vars.headers) {
        cfg.allow_headers = list(v);
    }
    if let Some(v) = read(&vars.credentials) {
        cfg.allow_credentials = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            other => bail!(
                "{}: `{other}` is not true or false",
                vars.credentials.as_deref().unwrap_or_default()
            ),
        };
    }
    if let Some(v) = read(&vars.max_age) {
        cfg.max_age_secs = v.trim().parse().with_context(|| {
            format!(
                "{}: `{v}` is not a number of seconds",
                vars.max_age.as_deref().unwrap_or_default()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evolution_vars() -> Vec<(String, CorsEnv)> {
        vec![(
            "evolution".into(),
            CorsEnv {
                origins: Some("CORS_ORIGIN".into()),
                methods: Some("CORS_METHODS".into()),
                credentials: Some("CORS_CREDENTIALS".into()),
                ..Default::default()
            },
        )]
    }

    fn req(method: &str, path: &str, origin: Option<&str>, preflight: bool) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if preflight {
            b = b.header("access-control-request-method", "POST");
        }
        b.body(()).unwrap()
    }

    #[test]
    fn nothing_is_installed_without_an_origin() {
        assert!(
            Cors::from_sources(&CorsConfig::default(), &evolution_vars(), |_| None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn precedence_is_file_then_dialect_then_wagate() {
        let file = CorsConfig {
            allow_origins: vec!["https://file.example".into()],
            ..Default::default()
        };
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let allowed = |cors: &Cors, o: &str| {
            matches!(
                cors.decide(&req("GET", "/x", Some(o), false)),
                Decision::Apply
            )
        };
        let c = Cors::from_sources(&file, &evolution_vars(), env(&[]))
            .unwrap()
            .unwrap();
        assert!(allowed(&c, "https://file.example"));
        let c = Cors::from_sources(
            &file,
            &evolution_vars(),
            env(&[("CORS_ORIGIN", "https://evo.example, https://b.example")]),
        )
        .unwrap()
        .unwrap();
        assert!(allowed(&c, "https://b.example") && !allowed(&c, "https://file.example"));
        let c = Cors::from_sources(
            &file,
            &evolution_vars(),
            env(&[
                ("CORS_ORIGIN", "https://evo.example"),
                ("WAGATE_CORS_ORIGINS", "https://own.example"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert!(allowed(&c, "https://own.example") && !allowed(&c, "https://evo.example"));
        let err = Cors::from_sources(
            &file,
            &evolution_vars(),
            env(&[("CORS_CREDENTIALS", "yes")]),
        )
        .err()
        .unwrap();
        assert!(format!("{err:#}").contains("CORS_CREDENTIALS"), "{err:#}");
    }

    #[test]
    fn operator_surfaces_and_foreign_origins() {
        let cfg = CorsConfig {
            allow_origins: vec!["*".into()],
            ..Default::default()
        };
        let c = Cors::new(&cfg).unwrap().unwrap();
        assert!(matches!(
            c.decide(&req("OPTIONS", "/admin/orgs", Some("https://a"), true)),
            Decision::Pass
        ));
        assert!(matches!(
            c.decide(&req("OPTIONS", "/core/instances", Some("https://a"), true)),
            Decision::Apply
        ));
        let c = Cors::new(&CorsConfig {
            allow_origins: vec!["https://a".into()],
            admin: true,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert!(matches!(
            c.decide(&req("OPTIONS", "/admin/orgs", Some("https://a"), true)),
            Decision::Apply
        ));
        assert!(matches!(
            c.decide(&req("OPTIONS", "/x", Some("https://b"), true)),
            Decision::Refuse
        ));
        assert!(matches!(
            c.decide(&req("GET", "/x", Some("https://b"), false)),
            Decision::Pass
        ));
        assert!(matches!(
            c.decide(&req("GET", "/x", None, false)),
            Decision::Pass
        ));
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let bad = CorsConfig {
            allow_origins: vec!["https://a".into()],
            allow_methods: vec!["GE T".into()],
            ..Default::default()
        };
        assert!(Cors::new(&bad).is_err());
    }
}
