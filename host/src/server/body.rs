//! Reading a request body under a size cap and a deadline, and refusing one without
//! losing the answer.
//!
//! A server that answers before it has read the whole body (a 413 past the cap, a 401
//! from a dialect's auth) and then closes the socket with unread bytes in it makes the
//! kernel send a reset, which can destroy the answer before the client reads it: the
//! client, still writing, sees "connection reset" instead of the error. So a refused
//! body lingers: a task keeps reading and dropping it for a bounded time and amount
//! (as nginx's lingering close), while the answer goes out.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// How long, and how much more, a refused body is read and dropped.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 256 << 20;

/// Why a body was not read.
pub(super) enum BodyError {
    /// Larger than the cap.
    TooLarge,
    /// Not all there within the deadline.
    Timeout,
    /// The connection failed while reading it.
    Broken(hyper::Error),
}

/// The whole body, if it is at most `cap` bytes and arrives within `deadline`. A body
/// over the cap is left lingering (see the module docs). `expected` is the declared
/// length, so a large body is one buffer from the start rather than a doubling one
/// (which would hold up to twice the body at once).
pub(super) async fn read(
    body: Incoming,
    cap: usize,
    expected: Option<usize>,
    deadline: Duration,
) -> Result<BytesMut, BodyError> {
    let mut body = body;
    let mut out = BytesMut::with_capacity(expected.unwrap_or(0).min(cap));
    let reading = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(BodyError::Broken)?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > cap {
                    return Err(BodyError::TooLarge);
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(deadline, reading).await {
        Ok(Ok(())) => Ok(out),
        Ok(Err(BodyError::TooLarge)) => {
            linger(body);
            Err(BodyError::TooLarge)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Timeout),
    }
}

/// Reads and drops what is left of a refused body in the background, so the answer
/// reaches a client that is still writing it.
pub(super) fn linger(mut body: Incoming) {
    tokio::spawn(async move {
        let mut left = LINGER_BYTES;
        let _ = tokio::time::timeout(LINGER_TIME, async {
            while let Some(Ok(frame)) = body.frame().await {
                let n = frame.data_ref().map_or(0, Bytes::len);
                let Some(rest) = left.checked_sub(n) else {
                    return;
                };
                left = rest;
            }
        })
        .await;
    });
}
