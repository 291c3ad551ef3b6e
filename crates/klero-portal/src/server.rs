//! The HTTP/1.1 server around the router: bounded time for every phase of a connection, a bounded
//! number of connections, and problem documents even for the answers hyper writes by itself.
//!
//! A connection is closed when
//! - its request head (request line and headers) is not complete [`Limits::header_read`] after the
//!   server started waiting for it: a half-sent header, and also an idle keep-alive connection,
//!   which is a connection waiting for its next head;
//! - a request is not received and answered within [`Limits::request`] (the body included): the
//!   client gets a 408 problem. A write that had reached the store may still have been committed;
//!   retry it with the same `Idempotency-Key` to learn its outcome without writing twice;
//! - the client stops reading the answer for [`Limits::write_stall`].
//!
//! At most [`Limits::max_connections`] connections are open at once; a connection beyond that is
//! answered at once with a 503 problem and closed, so an attacker holding connections open costs
//! the server a bounded number of file descriptors, each for a bounded time.
//!
//! URLs longer than [`MAX_URI_BYTES`] get a 414 problem, header sections larger than
//! [`MAX_HEADER_BYTES`] a 431 problem. hyper answers a request head it cannot parse by itself, with
//! an empty 400, 414 (a URL of 64 KiB or more) or 431 (a head of more than [`MAX_HEAD_BUFFER`]
//! bytes), and then closes the connection; [`ProblemIo`] rewrites exactly those answers into the
//! same problem documents as the router's.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::error::{ApiError, Kind};

/// The longest URL (path and query) accepted, in bytes; longer ones get a 414 problem.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The largest header section accepted (names, values and 4 bytes a line), in bytes; larger ones
/// get a 431 problem.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// hyper's read buffer for a request head: a head that does not fit is answered 431 by hyper
/// (and rewritten into a problem by [`ProblemIo`]).
pub const MAX_HEAD_BUFFER: usize = 128 * 1024;

/// How long each phase of a connection may take, and how many connections may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From the moment the server waits for a request head (a new connection, or a keep-alive
    /// connection after an answer) until the head is complete. Default 10 s.
    pub header_read: Duration,
    /// From a complete head until the answer is ready, reading the body included. Default 30 s.
    pub request: Duration,
    /// How long a write of the answer may wait for the client to read. Default 30 s.
    pub write_stall: Duration,
    /// Connections open at once. Default 1,024.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for open requests. Default 30 s.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            write_stall: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The router with the request-level limits: URL and header sizes, and the request timeout.
pub(crate) fn with_limits(router: Router, limits: Limits) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| request_limits(req, next, limits.request),
    ))
}

async fn request_limits(req: Request, next: Next, timeout: Duration) -> Response {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return ApiError::new(
            Kind::UriTooLong,
            format!("the URL has {uri_len} bytes; at most {MAX_URI_BYTES} are accepted"),
        )
        .into_response();
    }
    let header_len: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    if header_len > MAX_HEADER_BYTES {
        return ApiError::new(
            Kind::HeadersTooLarge,
            format!("the headers have {header_len} bytes; at most {MAX_HEADER_BYTES} are accepted"),
        )
        .into_response();
    }
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            Kind::RequestTimeout,
            format!(
                "the request was not received and answered within {} s; a write may still have \
                 been recorded: retry with the same Idempotency-Key to learn its outcome",
                timeout.as_secs()
            ),
        )
        .into_response(),
    }
}

/// A whole HTTP/1.1 response carrying a problem document, to write on a raw connection.
fn raw_problem(kind: Kind, detail: &str) -> Vec<u8> {
    let e = ApiError::new(kind, detail);
    let body = serde_json::to_vec(&e.problem()).unwrap_or_default();
    let status = kind.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes, then lets open
/// requests finish (for at most [`Limits::shutdown_grace`]).
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(MAX_HEAD_BUFFER)
        .keep_alive(true);
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(stream, max));
            continue;
        };
        let io = TokioIo::new(ProblemIo::new(stream, limits.write_stall));
        let conn = http.serve_connection(io, service.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: holding them all means all have ended.
    let _ = tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(max as u32)).await;
    Ok(())
}

async fn refuse_busy(mut stream: TcpStream, max: usize) {
    let msg = raw_problem(
        Kind::Busy,
        &format!("the server has {max} connections open, its limit: retry shortly"),
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(&msg).await?;
        stream.shutdown().await
    })
    .await;
}

/// The connection's byte stream, with two duties: a write the client does not read for
/// `write_stall` fails (closing the connection), and the empty 400/414/431 answers hyper writes by
/// itself for a request head it cannot parse are replaced by problem documents.
///
/// hyper writes such an answer as the first thing after the previous response is complete and then
/// closes the connection, and it is a bare head: a status line and headers without
/// `content-type`, which every answer of the router carries. Writes are not vectored, so a head
/// arrives at the start of a write.
pub(crate) struct ProblemIo<T> {
    inner: T,
    write_stall: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A replacement answer still to be written.
    pending: Vec<u8>,
}

impl<T> ProblemIo<T> {
    pub(crate) fn new(inner: T, write_stall: Duration) -> ProblemIo<T> {
        ProblemIo {
            inner,
            write_stall,
            stall: None,
            pending: Vec::new(),
        }
    }
}

/// If `buf` starts with one of hyper's own empty error answers, its length and the problem that
/// replaces it.
fn hyper_error_head(buf: &[u8]) -> Option<(usize, Vec<u8>)> {
    let kind = if buf.starts_with(b"HTTP/1.1 400 ") {
        Kind::MalformedRequest
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        Kind::UriTooLong
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        Kind::HeadersTooLarge
    } else {
        return None;
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0\r\n") {
        return None; // an answer of the router
    }
    let detail = match kind {
        Kind::UriTooLong => {
            format!("the URL is too long; at most {MAX_URI_BYTES} bytes are accepted")
        }
        Kind::HeadersTooLarge => format!(
            "the request head is too large; at most {MAX_HEADER_BYTES} bytes of headers are accepted"
        ),
        _ => "the request line or a header cannot be parsed as HTTP/1.1".to_owned(),
    };
    Some((end, raw_problem(kind, &detail)))
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    /// Writes what is pending; `Ready(Ok)` once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(self.poll_inner_write(cx, None))?;
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes `buf` (or the pending bytes when `None`), failing if the client has not read for
    /// `write_stall`.
    fn poll_inner_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: Option<&[u8]>,
    ) -> Poll<io::Result<usize>> {
        let data = buf.unwrap_or(&self.pending);
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                self.stall = None;
                if matches!(r, Ok(0)) && !data.is_empty() {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = self.write_stall;
                let stall = self
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if stall.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading the answer",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some((len, problem)) = hyper_error_head(buf) {
            this.pending = problem;
            return Poll::Ready(Ok(len));
        }
        this.poll_inner_write(cx, Some(buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_s_bare_error_heads_are_recognized_and_the_router_s_answers_are_not() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let (len, p) = hyper_error_head(bare).expect("recognized");
        assert_eq!(len, bare.len());
        let text = String::from_utf8(p).unwrap();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        assert!(text.contains("application/problem+json"), "{text}");
        assert!(text.contains("/api/v1/problems/uri-too-long"), "{text}");
        let ours = b"HTTP/1.1 414 URI Too Long\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n";
        assert!(hyper_error_head(ours).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(hyper_error_head(ok).is_none());
        let partial = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-len";
        assert!(hyper_error_head(partial).is_none());
    }
}
