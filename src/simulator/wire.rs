//! The simulator's side of the wire: a listener that serves, refuses (nothing listens) or leaves
//! connects unanswered (a full accept queue), connections that can be reset (TCP RST), and the
//! broken bodies of [`BodyFault`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use futures::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::faults::{BodyFault, Connections};

/// A listening socket on `addr` (SO_REUSEADDR, so the port can be taken again at once).
fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves connections while the faults say [`Connections::Open`].
pub(crate) struct SimListener {
    addr: SocketAddr,
    listener: Option<TcpListener>,
    mode: watch::Receiver<Connections>,
    /// Cancelled when serving stops: every connection accepted under it is reset.
    open: CancellationToken,
}

impl SimListener {
    pub(crate) fn bind(addr: SocketAddr, mode: watch::Receiver<Connections>) -> io::Result<Self> {
        let listener = listen(addr, 1024)?;
        Ok(Self {
            addr: listener.local_addr()?,
            listener: Some(listener),
            mode,
            open: CancellationToken::new(),
        })
    }

    /// Waits for the next change of mode (forever once the simulator is gone).
    async fn changed(mode: &mut watch::Receiver<Connections>) {
        if mode.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Not serving until the mode changes: open connections are reset, and the port is either
    /// closed (connects refused) or held by a socket that never accepts, whose accept queue is
    /// filled by connections of our own so that the kernel drops further SYNs (connects time out).
    async fn stopped(&mut self, mode: Connections) {
        self.open.cancel();
        self.open = CancellationToken::new();
        self.listener = None;
        let mut held = Vec::new();
        let _unanswering = match mode {
            Connections::ConnectTimeout => match listen(self.addr, 0) {
                Ok(l) => {
                    // A backlog of 0 still queues one connection; a connect that times out
                    // shows the queue is full.
                    for _ in 0..4 {
                        let connect = TcpStream::connect(self.addr);
                        match tokio::time::timeout(Duration::from_millis(200), connect).await {
                            Ok(Ok(s)) => held.push(s),
                            _ => break,
                        }
                    }
                    Some(l)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "simulator: cannot hold the port unanswered");
                    None
                }
            },
            _ => None,
        };
        Self::changed(&mut self.mode).await;
    }
}

impl axum::serve::Listener for SimListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            let mode = *self.mode.borrow_and_update();
            if mode != Connections::Open {
                self.stopped(mode).await;
                continue;
            }
            let listener = match &self.listener {
                Some(l) => l,
                None => match listen(self.addr, 1024) {
                    Ok(l) => self.listener.insert(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "simulator: cannot listen again");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => return (Conn::new(stream, self.open.child_token()), peer),
                    Err(e) => {
                        tracing::debug!(error = %e, "simulator: accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                _ = Self::changed(&mut self.mode) => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// One accepted connection; once its token is cancelled, the next read or write resets it.
pub(crate) struct Conn {
    stream: TcpStream,
    reset: CancellationToken,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Conn {
    fn new(stream: TcpStream, reset: CancellationToken) -> Self {
        let cancelled = Box::pin(reset.clone().cancelled_owned());
        Self {
            stream,
            reset,
            cancelled,
        }
    }

    /// After a reset: SO_LINGER 0, so the close hyper does on this error is an RST, not a FIN.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.cancelled.as_mut().poll(cx).is_ready() {
            let _ = self.stream.set_zero_linger();
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        Ok(())
    }
}

impl Drop for Conn {
    // A reset asked for while hyper was not reading or writing (the body stream failed): the
    // close that follows must still be an RST.
    fn drop(&mut self) {
        if self.reset.is_cancelled() {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A handler's way to reset the connection its request came on.
#[derive(Clone)]
pub(crate) struct ConnHandle(CancellationToken);

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        ConnHandle(stream.io().reset.clone())
    }
}

/// A body cut in half: never valid JSON (the closing brace is always lost).
pub(crate) fn truncate(mut body: Vec<u8>) -> Vec<u8> {
    let keep = (body.len() / 2).min(body.len().saturating_sub(1));
    body.truncate(keep);
    body
}

/// 100 MiB, in 1 MiB chunks.
const HUGE_CHUNKS: usize = 100;
const MIB: usize = 1 << 20;
static SPACES: [u8; MIB] = [b' '; MIB];
/// One byte of a dripping body per this long.
const DRIP_EVERY: Duration = Duration::from_millis(100);

/// The broken answer `fault` makes of the good `body`; `conn` resets the connection (without it,
/// the connection is merely dropped mid-body).
pub(crate) fn broken(fault: BodyFault, body: Vec<u8>, conn: Option<ConnHandle>) -> Response {
    const JSON: &str = "application/json; encoding=utf-8";
    let streamed = |stream: futures::stream::BoxStream<'static, io::Result<Bytes>>| {
        ([(header::CONTENT_TYPE, JSON)], Body::from_stream(stream)).into_response()
    };
    match fault {
        BodyFault::WrongShape => (
            [(header::CONTENT_TYPE, JSON)],
            r#"{"list":"not a list"}"#.to_string(),
        )
            .into_response(),
        BodyFault::Garbage => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>".to_string(),
        )
            .into_response(),
        // One static chunk sent 100 times: the simulator itself allocates nothing for it, so a
        // test measuring the process's memory measures the client's.
        BodyFault::Huge => streamed(
            futures::stream::iter(0..HUGE_CHUNKS)
                .map(|_| Ok(Bytes::from_static(&SPACES)))
                .boxed(),
        ),
        BodyFault::Drip => streamed(
            futures::stream::iter(body)
                .then(|b| async move {
                    tokio::time::sleep(DRIP_EVERY).await;
                    Ok(Bytes::from(vec![b]))
                })
                .boxed(),
        ),
        BodyFault::Reset => {
            let half = Bytes::from(body[..body.len() / 2].to_vec());
            let reset = futures::stream::once(async move {
                // Let the first half go out before the RST.
                tokio::time::sleep(Duration::from_millis(20)).await;
                if let Some(ConnHandle(token)) = conn {
                    token.cancel();
                }
                Err(io::ErrorKind::ConnectionReset.into())
            });
            streamed(
                futures::stream::once(async { Ok(half) })
                    .chain(reset)
                    .boxed(),
            )
        }
    }
}
