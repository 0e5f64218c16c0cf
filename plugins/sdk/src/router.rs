//! A small router: method + path pattern with `{params}`, first match wins.
//!
//! A dialect builds its router on every request (each plugin call runs in a fresh
//! instance, so nothing survives between calls): adding a route must cost next to
//! nothing. A route keeps its pattern as given (a `&'static str` is not copied) and is
//! only parsed while matching, without allocating; parameters are captured for the
//! one route that answers.

use std::borrow::Cow;

use crate::http::{BodyError, Request, header, json_error, percent_decode};
use crate::types::HttpResponse;

/// What a handler may return: a response, or `Result<HttpResponse, HttpResponse>` so
/// that `?` answers early with the error response (a bad body, a core error mapped
/// into the dialect's shape):
///
/// ```ignore
/// fn send(req: &Request, params: &Params) -> Result<HttpResponse, HttpResponse> {
///     let body: SendBody = req.body()?;
///     let msg = core::send_text(&which(params), &body.to, &body.text).map_err(my_error)?;
///     Ok(json(201, &msg_json(&msg)))
/// }
/// ```
pub trait IntoResponse {
    /// The response to answer.
    fn into_response(self) -> HttpResponse;
}

impl IntoResponse for HttpResponse {
    fn into_response(self) -> HttpResponse {
        self
    }
}

impl IntoResponse for Result<HttpResponse, HttpResponse> {
    fn into_response(self) -> HttpResponse {
        self.unwrap_or_else(|e| e)
    }
}

/// Path parameters captured by a route pattern (`/chat/{jid}` -> `jid`), percent-decoded.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The value captured for `{name}`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A route handler.
pub type Handler = Box<dyn Fn(&Request, &Params) -> HttpResponse>;

/// Renders the 405 answer for a path that has routes, none for the request's method;
/// gets the methods the path does allow (the router adds the `Allow` header itself).
pub type NotAllowedHandler = Box<dyn Fn(&Request, &[&str]) -> HttpResponse>;

struct Route {
    /// Upper-case.
    method: Cow<'static, str>,
    pattern: Cow<'static, str>,
    handler: Handler,
}

enum Segment<'p> {
    Literal(&'p str),
    Param(&'p str),
    /// `{*rest}` as the last segment: the remainder of the path.
    Rest(&'p str),
}

impl<'p> Segment<'p> {
    fn parse(s: &'p str) -> Self {
        if let Some(name) = s.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
            Segment::Rest(name)
        } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Segment::Param(name)
        } else {
            Segment::Literal(s)
        }
    }
}

/// Routes requests by method and the path relative to the mount.
///
/// Patterns are `/`-separated; a segment `{name}` captures one segment, a final
/// `{*name}` captures the rest. A path that matches a pattern under another method
/// answers 405 with an `Allow` header listing the path's methods (HTTP requires it, and
/// OpenAPI testers check it); no match at all answers 404. Both default to wagate's
/// neutral error shape: [`Router::method_not_allowed`] and [`Router::fallback`] render
/// them in a dialect's own.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    fallback: Option<Handler>,
    not_allowed: Option<NotAllowedHandler>,
    body_errors: Option<fn(&BodyError) -> HttpResponse>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a route for `method` (e.g. `"PATCH"`). The handler returns an
    /// [`HttpResponse`] or a `Result<HttpResponse, HttpResponse>` ([`IntoResponse`]).
    pub fn route<R: IntoResponse>(
        self,
        method: &str,
        pattern: impl Into<Cow<'static, str>>,
        handler: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Owned(method.to_ascii_uppercase()), pattern, handler)
    }

    fn add<R: IntoResponse>(
        mut self,
        method: Cow<'static, str>,
        pattern: impl Into<Cow<'static, str>>,
        handler: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        if self.routes.capacity() == 0 {
            // Dialects declare on the order of a hundred routes: one allocation.
            self.routes.reserve(128);
        }
        self.routes.push(Route {
            method,
            pattern: pattern.into(),
            // A handler that captures nothing (a function item, a closure over fn
            // items) is zero-sized: boxing it does not allocate.
            handler: Box::new(move |req, params| handler(req, params).into_response()),
        });
        self
    }

    /// Add a `GET` route.
    pub fn get<R: IntoResponse>(
        self,
        p: impl Into<Cow<'static, str>>,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Borrowed("GET"), p, h)
    }
    /// Add a `POST` route.
    pub fn post<R: IntoResponse>(
        self,
        p: impl Into<Cow<'static, str>>,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Borrowed("POST"), p, h)
    }
    /// Add a `PUT` route.
    pub fn put<R: IntoResponse>(
        self,
        p: impl Into<Cow<'static, str>>,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Borrowed("PUT"), p, h)
    }
    /// Add a `PATCH` route.
    pub fn patch<R: IntoResponse>(
        self,
        p: impl Into<Cow<'static, str>>,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Borrowed("PATCH"), p, h)
    }
    /// Add a `DELETE` route.
    pub fn delete<R: IntoResponse>(
        self,
        p: impl Into<Cow<'static, str>>,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.add(Cow::Borrowed("DELETE"), p, h)
    }

    /// Answer a body that [`Request::body`] cannot read (empty, not JSON, not the
    /// expected shape) with `mapper`'s response, in the dialect's own error shape,
    /// for every request this router dispatches. Without it the answer is wagate's
    /// neutral `400 {"error":{"code":"invalid_body",...}}`.
    pub fn body_errors(mut self, mapper: fn(&BodyError) -> HttpResponse) -> Self {
        self.body_errors = Some(mapper);
        self
    }

    /// Answer requests whose path matches no route with `handler` instead of the
    /// default 404.
    pub fn fallback(
        mut self,
        handler: impl Fn(&Request, &Params) -> HttpResponse + 'static,
    ) -> Self {
        self.fallback = Some(Box::new(handler));
        self
    }

    /// Render the 405 for a known path under an undeclared method with `handler`
    /// (given the path's methods) instead of the neutral shape. The router sets the
    /// `Allow` header on whatever it returns.
    pub fn method_not_allowed(
        mut self,
        handler: impl Fn(&Request, &[&str]) -> HttpResponse + 'static,
    ) -> Self {
        self.not_allowed = Some(Box::new(handler));
        self
    }

    /// Dispatch `req` to the first matching route.
    pub fn handle(&self, req: &Request) -> HttpResponse {
        if let Some(mapper) = self.body_errors {
            req.set_body_errors(mapper);
        }
        let path: Vec<&str> = split(&req.rel_path).collect();
        let method = req.method().to_ascii_uppercase();
        let mut allowed: Vec<&str> = Vec::new();
        for route in &self.routes {
            if matches(&route.pattern, &path) {
                if route.method == method {
                    return (route.handler)(req, &capture(&route.pattern, &path));
                }
                if !allowed.contains(&route.method.as_ref()) {
                    allowed.push(&route.method);
                }
            }
        }
        if !allowed.is_empty() {
            let mut resp = match &self.not_allowed {
                Some(render) => render(req, &allowed),
                None => json_error(405, "method_not_allowed", "method not allowed on this path"),
            };
            resp.headers
                .retain(|h| !h.name.eq_ignore_ascii_case("allow"));
            resp.headers.push(header("allow", &allowed.join(", ")));
            return resp;
        }
        match &self.fallback {
            Some(fallback) => fallback(req, &Params::default()),
            None => json_error(404, "not_found", "no such route"),
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether `pattern` matches the path's segments; allocates nothing.
fn matches(pattern: &str, path: &[&str]) -> bool {
    let mut n = 0;
    for seg in split(pattern) {
        match (Segment::parse(seg), path.get(n)) {
            // The rest may be empty.
            (Segment::Rest(_), _) => return true,
            (_, None) => return false,
            (Segment::Literal(lit), Some(got)) if lit != *got => return false,
            _ => n += 1,
        }
    }
    n == path.len()
}

/// The parameters of a `pattern` that [`matches`] the path, percent-decoded.
fn capture(pattern: &str, path: &[&str]) -> Params {
    let mut params = Vec::new();
    for (i, seg) in split(pattern).enumerate() {
        match Segment::parse(seg) {
            Segment::Rest(name) => {
                let rest = path.get(i..).unwrap_or(&[]).join("/");
                params.push((name.to_string(), percent_decode(&rest)));
                break;
            }
            Segment::Param(name) => {
                params.push((name.to_string(), percent_decode(path[i])));
            }
            Segment::Literal(_) => {}
        }
    }
    Params(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn match_route(pattern: &str, path: &[&str]) -> Option<Params> {
        matches(pattern, path).then(|| capture(pattern, path))
    }

    #[test]
    fn patterns_match_and_capture() {
        let p = match_route("/chat/{jid}/messages", &["chat", "a%40b", "messages"]).unwrap();
        assert_eq!(p.get("jid"), Some("a@b"));
        assert!(match_route("/chat/{jid}", &["chat"]).is_none());
        assert!(match_route("/chat/{jid}", &["chat", "a", "b"]).is_none());
        assert!(match_route("/chat/{jid}", &["chats", "a"]).is_none());
        let p = match_route("/files/{*rest}", &["files", "a", "b"]).unwrap();
        assert_eq!(p.get("rest"), Some("a/b"));
        let p = match_route("/files/{*rest}", &["files"]).unwrap();
        assert_eq!(p.get("rest"), Some(""), "the rest may be empty");
        assert!(match_route("/", &[]).is_some());
        assert!(match_route("/", &["x"]).is_none());
        let p = match_route("/a/{x}/b/{y}", &["a", "1", "b", "2%2F3"]).unwrap();
        assert_eq!((p.get("x"), p.get("y")), (Some("1"), Some("2/3")));
    }

    #[test]
    fn patterns_built_at_run_time_work_too() {
        let ok = |_: &Request, p: &Params| crate::http::text(200, p.get("id").unwrap());
        let router = Router::new()
            .get(format!("/{}/{{id}}", "dyn"), ok)
            .route("patch", "/x", ok);
        let resp = router.handle(&request("GET", "/m/dyn/7", ""));
        assert_eq!((resp.status, resp.body.as_slice()), (200, b"7".as_slice()));
        let resp = router.handle(&request("GET", "/m/x", ""));
        assert_eq!(resp.status, 405);
        assert_eq!(
            allow(&resp),
            Some("PATCH"),
            "route() upper-cases the method"
        );
    }

    fn request(method: &str, path: &str, body: &str) -> Request {
        Request::new(
            crate::types::HttpRequest {
                method: method.into(),
                path: path.into(),
                mount: "/m".into(),
                query: None,
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
            },
            None,
        )
    }

    fn allow(resp: &HttpResponse) -> Option<&str> {
        resp.headers
            .iter()
            .find(|h| h.name == "allow")
            .map(|h| h.value.as_str())
    }

    #[test]
    fn known_path_under_another_method_is_405_with_allow() {
        let ok = |_: &Request, _: &Params| crate::http::text(200, "");
        let router = Router::new()
            .get("/x/{id}", ok)
            .delete("/x/{id}", ok)
            .post("/y", ok)
            .fallback(|_, _| crate::http::text(404, "mine"));
        let resp = router.handle(&request("PUT", "/m/x/1", ""));
        assert_eq!(resp.status, 405);
        assert_eq!(allow(&resp), Some("GET, DELETE"));
        // The fallback renders only unknown paths.
        let resp = router.handle(&request("GET", "/m/z", ""));
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (404, b"mine".as_slice())
        );
        assert_eq!(allow(&resp), None);

        // A dialect's own 405 body keeps the router's Allow header.
        let router = Router::new()
            .post("/y", ok)
            .method_not_allowed(|_, methods| crate::http::text(405, &methods.join("|")));
        let resp = router.handle(&request("GET", "/m/y", ""));
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (405, b"POST".as_slice())
        );
        assert_eq!(allow(&resp), Some("POST"));
    }

    #[derive(serde::Deserialize)]
    struct Greeting {
        name: String,
    }

    fn greet(req: &Request, _: &Params) -> Result<HttpResponse, HttpResponse> {
        let g: Greeting = req.body()?;
        if g.name.is_empty() {
            return Err(json_error(422, "empty", "name is empty"));
        }
        Ok(crate::http::text(200, &format!("hi {}", g.name)))
    }

    fn teapot(e: &BodyError) -> HttpResponse {
        crate::http::json(418, &serde_json::json!({ "bad": e.to_string() }))
    }

    #[test]
    fn result_handlers_and_body_errors() {
        let plain = Router::new().post("/greet", greet);
        let r = plain.handle(&request("POST", "/m/greet", r#"{"name":"ana"}"#));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi ana"[..]));
        let r = plain.handle(&request("POST", "/m/greet", r#"{"name":""}"#));
        assert_eq!(r.status, 422, "the handler's own Err");
        let r = plain.handle(&request("POST", "/m/greet", "{"));
        assert_eq!(r.status, 400, "the neutral body error");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "invalid_body");

        let custom = Router::new().post("/greet", greet).body_errors(teapot);
        for (body, what) in [
            ("", "empty"),
            ("{", "not JSON"),
            (r#"{"name":1}"#, "wrong shape"),
        ] {
            let r = custom.handle(&request("POST", "/m/greet", body));
            assert_eq!(r.status, 418, "{what}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(!v["bad"].as_str().unwrap().is_empty(), "{what}: {v}");
        }
    }
}
