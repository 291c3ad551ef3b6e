//! A small asynchronous HTTP/1.1 client for the load generator, the demo and the tests: plain HTTP
//! to a Kleroterion server (usually on loopback), keep-alive connections, JSON helpers.

use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as Hyper;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    http: Hyper<HttpConnector, Full<Bytes>>,
    base: String,
}

/// A response, fully read.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Client {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Hyper::builder(TokioExecutor::new())
            // Below the server's 10 s header-read limit, which closes idle connections: a pooled
            // connection is dropped here before the server can close it under a new request.
            .pool_idle_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1024)
            .build(connector);
        Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The server's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request with a raw body. `path` starts with `/`.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<Response, String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| format!("request to {} failed: {e}", self.base))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the response failed: {e}"))?
            .to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// Sends a request with an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response, String> {
        match body {
            Some(b) => {
                let bytes = serde_json::to_vec(b).expect("JSON values serialize");
                self.send_raw(
                    method,
                    path,
                    token,
                    Some("application/json"),
                    bytes,
                    headers,
                )
                .await
            }
            None => {
                self.send_raw(method, path, token, None, vec![], headers)
                    .await
            }
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Result<Response, String> {
        self.send(Method::GET, path, token, None, &[]).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<Response, String> {
        self.send(Method::POST, path, token, Some(body), &[]).await
    }
}
