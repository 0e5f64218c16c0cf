//! A small router: method + path pattern with `{params}`, first match wins.

use crate::http::{BodyError, Request, json_error, percent_decode};
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

struct Route {
    method: String,
    segments: Vec<Segment>,
    handler: Handler,
}

enum Segment {
    Literal(String),
    Param(String),
    /// `{*rest}` as the last segment: the remainder of the path.
    Rest(String),
}

/// Routes requests by method and the path relative to the mount.
///
/// Patterns are `/`-separated; a segment `{name}` captures one segment, a final
/// `{*name}` captures the rest. A path that matches a pattern under another method
/// answers 405, no match at all answers 404 (both in wagate's neutral error shape,
/// see [`Router::fallback`] to change that).
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    fallback: Option<Handler>,
    body_errors: Option<fn(&BodyError) -> HttpResponse>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a route for `method` (upper-case, e.g. `"PATCH"`). The handler returns an
    /// [`HttpResponse`] or a `Result<HttpResponse, HttpResponse>` ([`IntoResponse`]).
    pub fn route<R: IntoResponse>(
        mut self,
        method: &str,
        pattern: &str,
        handler: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        let segments = split(pattern)
            .map(|s| {
                if let Some(name) = s.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
                    Segment::Rest(name.to_string())
                } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Segment::Param(name.to_string())
                } else {
                    Segment::Literal(s.to_string())
                }
            })
            .collect();
        self.routes.push(Route {
            method: method.to_ascii_uppercase(),
            segments,
            handler: Box::new(move |req, params| handler(req, params).into_response()),
        });
        self
    }

    /// Add a `GET` route.
    pub fn get<R: IntoResponse>(
        self,
        p: &str,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.route("GET", p, h)
    }
    /// Add a `POST` route.
    pub fn post<R: IntoResponse>(
        self,
        p: &str,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.route("POST", p, h)
    }
    /// Add a `PUT` route.
    pub fn put<R: IntoResponse>(
        self,
        p: &str,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.route("PUT", p, h)
    }
    /// Add a `PATCH` route.
    pub fn patch<R: IntoResponse>(
        self,
        p: &str,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.route("PATCH", p, h)
    }
    /// Add a `DELETE` route.
    pub fn delete<R: IntoResponse>(
        self,
        p: &str,
        h: impl Fn(&Request, &Params) -> R + 'static,
    ) -> Self {
        self.route("DELETE", p, h)
    }

    /// Answer a body that [`Request::body`] cannot read (empty, not JSON, not the
    /// expected shape) with `mapper`'s response, in the dialect's own error shape,
    /// for every request this router dispatches. Without it the answer is wagate's
    /// neutral `400 {"error":{"code":"invalid_body",...}}`.
    pub fn body_errors(mut self, mapper: fn(&BodyError) -> HttpResponse) -> Self {
        self.body_errors = Some(mapper);
        self
    }

    /// Answer unmatched requests with `handler` instead of the default 404/405.
    pub fn fallback(
        mut self,
        handler: impl Fn(&Request, &Params) -> HttpResponse + 'static,
    ) -> Self {
        self.fallback = Some(Box::new(handler));
        self
    }

    /// Dispatch `req` to the first matching route.
    pub fn handle(&self, req: &Request) -> HttpResponse {
        if let Some(mapper) = self.body_errors {
            req.set_body_errors(mapper);
        }
        let path: Vec<&str> = split(&req.rel_path).collect();
        let mut path_matched = false;
        for route in &self.routes {
            if let Some(params) = match_route(&route.segments, &path) {
                if route.method == req.method().to_ascii_uppercase() {
                    return (route.handler)(req, &params);
                }
                path_matched = true;
            }
        }
        if let Some(fallback) = &self.fallback {
            return fallback(req, &Params::default());
        }
        if path_matched {
            json_error(405, "method_not_allowed", "method not allowed on this path")
        } else {
            json_error(404, "not_found", "no such route")
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn match_route(segments: &[Segment], path: &[&str]) -> Option<Params> {
    let mut params = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Rest(name) => {
                let rest = path.get(i..).unwrap_or(&[]).join("/");
                params.push((name.clone(), percent_decode(&rest)));
                return Some(Params(params));
            }
            Segment::Literal(lit) => {
                if path.get(i)? != lit {
                    return None;
                }
            }
            Segment::Param(name) => {
                params.push((name.clone(), percent_decode(path.get(i)?)));
            }
        }
    }
    (path.len() == segments.len()).then_some(Params(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        let segs = |p: &str| {
            Router::new()
                .get(p, |_, _| crate::http::text(200, ""))
                .routes
                .remove(0)
                .segments
        };
        let p = match_route(
            &segs("/chat/{jid}/messages"),
            &["chat", "a%40b", "messages"],
        )
        .unwrap();
        assert_eq!(p.get("jid"), Some("a@b"));
        assert!(match_route(&segs("/chat/{jid}"), &["chat"]).is_none());
        let p = match_route(&segs("/files/{*rest}"), &["files", "a", "b"]).unwrap();
        assert_eq!(p.get("rest"), Some("a/b"));
    }

    fn request(method: &str, path: &str, body: &str) -> Request {
        Request::new(
            crate::types::HttpRequest {
                method: method.into(),
                path: path.into(),
                mount: "/".into(),
                query: None,
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
            },
            None,
        )
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
        let r = plain.handle(&request("POST", "/greet", r#"{"name":"ana"}"#));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi ana"[..]));
        let r = plain.handle(&request("POST", "/greet", r#"{"name":""}"#));
        assert_eq!(r.status, 422, "the handler's own Err");
        let r = plain.handle(&request("POST", "/greet", "{"));
        assert_eq!(r.status, 400, "the neutral body error");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "invalid_body");

        let custom = Router::new().post("/greet", greet).body_errors(teapot);
        for (body, what) in [
            ("", "empty"),
            ("{", "not JSON"),
            (r#"{"name":1}"#, "wrong shape"),
        ] {
            let r = custom.handle(&request("POST", "/greet", body));
            assert_eq!(r.status, 418, "{what}");
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(!v["bad"].as_str().unwrap().is_empty(), "{what}: {v}");
        }
    }
}
