//! What one client may cost the HTTP server: how long it may take to send its request headers,
//! how long a request may run, and how many connections may be open at once. Applied with and
//! without `--web.config.file`, on plain and TLS listeners alike.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use futures::future::{BoxFuture, FutureExt as _};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The server's limits (flags `--web.header-read-timeout`, `--web.request-timeout`,
/// `--web.max-connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A connection that has not sent complete request headers this long after it opened (or
    /// after its previous request, when kept alive) is closed; the TLS handshake too.
    pub header_read_timeout: Duration,
    /// A request still running after this long gets 503 (a scrape is a copy: it never should).
    pub request_timeout: Duration,
    /// Connections beyond this many are closed as soon as they are accepted, so idle clients
    /// cannot use up the process's file descriptors.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

/// Admits a connection only while fewer than the limit are open; the permit lives as long as
/// the stream.
#[derive(Debug, Clone)]
pub(super) struct LimitAcceptor<A> {
    inner: A,
    open: Arc<Semaphore>,
}

impl<A> LimitAcceptor<A> {
    pub(super) fn new(inner: A, max_connections: usize) -> Self {
        Self {
            inner,
            open: Arc::new(Semaphore::new(max_connections.max(1))),
        }
    }
}

impl<A, S> Accept<TcpStream, S> for LimitAcceptor<A>
where
    A: Accept<TcpStream, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Limited<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            // Dropping the stream closes it: the client sees the connection refused at once.
            drop(stream);
            return std::future::ready(Err(io::Error::other(
                "too many open connections (--web.max-connections)",
            )))
            .boxed();
        };
        // A scrape's body leaves as a few writes (the stored body, then the small process
        // block): with Nagle's algorithm the last one waits for the client's delayed ACK, about
        // 40 ms a scrape. Best effort: a socket that refuses it still works.
        let _ = stream.set_nodelay(true);
        let inner = self.inner.accept(stream, service);
        async move {
            let (stream, service) = inner.await?;
            Ok((
                Limited {
                    stream,
                    _permit: permit,
                },
                service,
            ))
        }
        .boxed()
    }
}

/// A stream holding one of the connection permits.
#[derive(Debug)]
pub struct Limited<S> {
    stream: S,
    _permit: OwnedSemaphorePermit,
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
