//! The accept loop, and the limits that keep slow or abusive clients from holding the server:
//! a cap on concurrent connections, a deadline for a request's head, and one for its body.
//!
//! axum's own `serve` exposes none of these, so connections are served here with hyper's
//! HTTP/1 builder directly:
//! - at the cap, the loop stops accepting until a connection closes (new ones wait in the
//!   kernel's backlog rather than being refused);
//! - hyper closes a connection whose request head has not fully arrived within
//!   `header_timeout` (a slowloris client trickling header bytes is dropped, and frees its
//!   slot);
//! - a body gets `body_timeout` in all, from its first poll ([`Deadline`]): readers see
//!   [`BodyTimedOut`](crate::connection::BodyTimedOut) and answer 408. The deadline is for the whole body, not for each chunk, so
//!   a byte every few seconds does not keep it alive.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::connection::{BodyTimedOut, Closing, Peer, Stream};

/// What one server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; past it, new ones wait to be accepted.
    pub max_connections: usize,
    /// From a connection's first byte of a request head to its last.
    pub header_timeout: Duration,
    /// For a request's whole body, from when the handler starts reading it.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then closes `closing` (ending the
/// event streams) and waits for the connections' requests in flight to be answered.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    closing: &Closing,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let (stream, peer, slot) = accepted;
        let router = router.clone();
        let body_timeout = limits.body_timeout;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(|body| Body::new(Deadline::new(body, body_timeout)));
            request.extensions_mut().insert(ConnectInfo(peer.clone()));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    closing.close();
    graceful.shutdown().await;
}

/// The next connection, once a slot is free.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (Stream, Peer, tokio::sync::OwnedSemaphorePermit) {
    loop {
        // The semaphore is never closed, so acquiring can only wait.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            continue;
        };
        match listener.accept().await {
            Ok((tcp, addr)) => {
                // Answers are written whole; don't let Nagle hold their last segment back.
                let _ = tcp.set_nodelay(true);
                let stream = Stream::new(tcp);
                let peer = Peer {
                    addr,
                    switch: stream.switch(),
                };
                return (stream, peer, slot);
            }
            // Out of file descriptors and the like: wait a little, as axum's serve does,
            // rather than spin.
            Err(error) if !is_connection_error(&error) => {
                tracing::warn!("accept: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => {}
        }
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A body that fails with [`BodyTimedOut`] once `limit` has passed since its first poll.
pub struct Deadline<B> {
    inner: B,
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> Deadline<B> {
    pub fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            sleep: None,
        }
    }
}

impl<B> HttpBody for Deadline<B>
where
    B: HttpBody + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let limit = this.limit;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut(limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
