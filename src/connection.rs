//! Connections: the ones a fault rule can break, and the signal that ends the long-lived answers
//! on them when the server stops ([`Closing`]). Breaking a connection needs the socket, not the
//! response:
//! every accepted stream carries a [`Switch`] that the handler reaches through `ConnectInfo`
//! ([`Peer`]) and sets before the answer is written. The stream then writes nothing (empty
//! reply), resets (`SO_LINGER` 0, so the close is an RST), or lets the answer's head and part of
//! its body through and closes (truncated body).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const NORMAL: u64 = 0;
const EMPTY: u64 = u64::MAX;
const RESET: u64 = u64::MAX - 1;

/// How a connection's next answer is written. Shared by the stream and the handler.
#[derive(Debug, Clone, Default)]
pub struct Switch(Arc<AtomicU64>);

impl Switch {
    /// Close without writing a byte.
    pub fn empty_reply(&self) {
        self.0.store(EMPTY, Ordering::SeqCst);
    }

    /// Reset the connection (RST) instead of answering.
    pub fn reset(&self) {
        self.0.store(RESET, Ordering::SeqCst);
    }

    /// Write the head and `body_bytes` of the body, then close.
    pub fn truncate_after(&self, body_bytes: u64) {
        self.0
            .store(body_bytes.min(RESET - 2) + 1, Ordering::SeqCst);
    }
}

/// The connection info of a request: the peer's address and its connection's switch.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    pub switch: Switch,
}

/// An accepted TCP stream whose answers its [`Switch`] can break.
pub struct Stream {
    inner: TcpStream,
    switch: Switch,
    progress: Progress,
}

impl Stream {
    pub fn new(inner: TcpStream) -> Self {
        Self {
            inner,
            switch: Switch::default(),
            progress: Progress::default(),
        }
    }

    /// The switch the connection's handlers set (through [`Peer`]).
    pub fn switch(&self) -> Switch {
        self.switch.clone()
    }
}

/// How far into an answer the bytes written so far are, for truncation.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// How much of `\r\n\r\n` (the end of the head) the last bytes matched.
    head_matched: u8,
    head_done: bool,
    body_written: u64,
}

impl Progress {
    /// Takes one byte if it may still be written under a limit of `limit` body bytes.
    fn take(&mut self, byte: u8, limit: u64) -> bool {
        if !self.head_done {
            self.head_matched = match (self.head_matched, byte) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => self.head_matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            self.head_done = self.head_matched == 4;
            return true;
        }
        if self.body_written < limit {
            self.body_written += 1;
            return true;
        }
        false
    }

    /// How many bytes of `buf` may be written (without taking them).
    fn allowed(mut self, buf: &[u8], limit: u64) -> usize {
        buf.iter().take_while(|b| self.take(**b, limit)).count()
    }
}

fn broken(kind: io::ErrorKind) -> Poll<io::Result<usize>> {
    Poll::Ready(Err(io::Error::new(
        kind,
        "connection broken by a fault rule",
    )))
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.switch.0.load(Ordering::SeqCst) {
            NORMAL => Pin::new(&mut self.inner).poll_write(cx, buf),
            EMPTY => broken(io::ErrorKind::ConnectionAborted),
            RESET => {
                // Closing with a zero linger sends RST instead of FIN.
                #[allow(deprecated)]
                let _ = self.inner.set_linger(Some(Duration::ZERO));
                broken(io::ErrorKind::ConnectionReset)
            }
            limit => match self.progress.allowed(buf, limit - 1) {
                0 => broken(io::ErrorKind::ConnectionAborted),
                allowed => {
                    let written = Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]);
                    if let Poll::Ready(Ok(n)) = written {
                        for &byte in &buf[..n] {
                            self.progress.take(byte, limit - 1);
                        }
                    }
                    written
                }
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Tells long-lived answers (event streams) that the server is stopping. Graceful shutdown waits
/// for every answer in flight to end, and a stream only ends when told to: without this, an open
/// page kept Ctrl-C waiting for ever.
#[derive(Debug, Clone)]
pub struct Closing(tokio::sync::watch::Sender<bool>);

impl Default for Closing {
    fn default() -> Self {
        Self(tokio::sync::watch::Sender::new(false))
    }
}

impl Closing {
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    /// Completes once [`Self::close`] was called (at once if it already was).
    pub async fn closed(&self) {
        let mut watching = self.0.subscribe();
        let _ = watching.wait_for(|closed| *closed).await;
    }
}

/// A request body did not arrive within the body deadline (`--body-timeout`): what a reader of
/// the body finds among its error's causes, to answer 408.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);
