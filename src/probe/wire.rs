//! The connection under the protocol libraries: counts and caps the bytes read, keeps the first
//! bytes the server sent (raw and decrypted) to tell protocols apart, and can be upgraded to TLS
//! in place, so that lettre and async-imap keep their handle across STARTTLS.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How many of the server's first bytes are kept for sniffing and for the banner.
const KEEP: usize = 8 * 1024;

/// Shared between the socket wrapper and the prober: what was read so far.
#[derive(Debug, Default)]
pub struct Meter {
    read: AtomicUsize,
    cap: usize,
    exceeded: AtomicBool,
    /// First bytes off the socket (encrypted when TLS is on).
    raw: Mutex<Vec<u8>>,
    /// Bytes off the socket since [`Meter::capture`], e.g. what answered a ClientHello.
    captured: Mutex<Option<Vec<u8>>>,
    /// First bytes of plaintext the protocol library read, since the last [`Conn::reset_text`].
    text: Mutex<Vec<u8>>,
    /// When the first full line of plaintext arrived (the greeting).
    first_line_at: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning only means a panic elsewhere mid-update of a byte buffer; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Meter {
    pub fn new(cap: usize) -> Arc<Meter> {
        Arc::new(Meter {
            cap,
            ..Meter::default()
        })
    }

    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    pub fn bytes_read(&self) -> usize {
        self.read.load(Ordering::Relaxed)
    }

    pub fn raw_prefix(&self) -> Vec<u8> {
        lock(&self.raw).clone()
    }

    /// Starts keeping the next raw bytes (up to [`KEEP`]), dropping any kept before.
    pub fn capture(&self) {
        *lock(&self.captured) = Some(Vec::new());
    }

    /// The raw bytes since [`Meter::capture`].
    pub fn captured(&self) -> Vec<u8> {
        lock(&self.captured).clone().unwrap_or_default()
    }

    pub fn text(&self) -> Vec<u8> {
        lock(&self.text).clone()
    }

    pub fn first_line_at(&self) -> Option<Instant> {
        *lock(&self.first_line_at)
    }

    fn record_text(&self, bytes: &[u8]) {
        let mut text = lock(&self.text);
        let had_line = text.contains(&b'\n');
        let room = KEEP.saturating_sub(text.len());
        text.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if !had_line && bytes.contains(&b'\n') {
            *lock(&self.first_line_at) = Some(Instant::now());
        }
    }
}

/// The TCP socket, with every read counted against the cap.
pub struct Counted {
    inner: TcpStream,
    meter: Arc<Meter>,
}

impl Counted {
    pub fn new(inner: TcpStream, meter: Arc<Meter>) -> Self {
        Counted { inner, meter }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let meter = Arc::clone(&self.meter);
        if meter.exceeded() {
            return Poll::Ready(Err(cap_error()));
        }
        // Never ask for more than the cap allows, so the cap is exact.
        let allowed = meter.cap.saturating_sub(meter.bytes_read()).max(1);
        let mut limited = buf.take(allowed);
        let poll = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        let got = limited.filled().to_vec();
        let n = got.len();
        // `take` gave a view of `buf`'s free space; copying marks those bytes as filled in
        // `buf` without unsafe code.
        if let Poll::Ready(Ok(())) = poll {
            buf.put_slice(&got);
            let total = meter.read.fetch_add(n, Ordering::Relaxed) + n;
            {
                let mut raw = lock(&meter.raw);
                let room = 64usize.saturating_sub(raw.len());
                raw.extend_from_slice(&got[..n.min(room)]);
            }
            if let Some(captured) = lock(&meter.captured).as_mut() {
                let room = KEEP.saturating_sub(captured.len());
                captured.extend_from_slice(&got[..n.min(room)]);
            }
            if total >= meter.cap && n > 0 {
                meter.exceeded.store(true, Ordering::Relaxed);
            }
        }
        poll
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn cap_error() -> io::Error {
    io::Error::other("the server sent more than the probe reads")
}

enum Layer {
    Plain(Counted),
    Tls(Box<TlsStream<Counted>>),
    /// Between STARTTLS and the end of the handshake, or after a failed upgrade.
    Detached,
}

/// A connection that protocol libraries read and write, and that the prober can upgrade to TLS
/// under them. Clones are handles to the same connection.
#[derive(Clone)]
pub struct Conn {
    layer: Arc<Mutex<Layer>>,
    meter: Arc<Meter>,
    peer: SocketAddr,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl Conn {
    pub fn plain(stream: Counted, meter: Arc<Meter>, peer: SocketAddr) -> Self {
        Conn {
            layer: Arc::new(Mutex::new(Layer::Plain(stream))),
            meter,
            peer,
        }
    }

    pub fn tls(stream: TlsStream<Counted>, meter: Arc<Meter>, peer: SocketAddr) -> Self {
        Conn {
            layer: Arc::new(Mutex::new(Layer::Tls(Box::new(stream)))),
            meter,
            peer,
        }
    }

    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// Takes the plain socket out for a TLS handshake; the handles see an error until
    /// [`Conn::install_tls`].
    pub fn detach_plain(&self) -> Option<Counted> {
        let mut layer = lock(&self.layer);
        match std::mem::replace(&mut *layer, Layer::Detached) {
            Layer::Plain(stream) => Some(stream),
            other => {
                *layer = other;
                None
            }
        }
    }

    pub fn install_tls(&self, stream: TlsStream<Counted>) {
        *lock(&self.layer) = Layer::Tls(Box::new(stream));
    }

    /// Forget the plaintext kept so far, so that the next reply is read from the start.
    pub fn reset_text(&self) {
        lock(&self.meter.text).clear();
        *lock(&self.meter.first_line_at) = None;
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection is being upgraded")
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = {
            let mut layer = lock(&self.layer);
            match &mut *layer {
                Layer::Plain(s) => Pin::new(s).poll_read(cx, buf),
                Layer::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
                Layer::Detached => Poll::Ready(Err(detached())),
            }
        };
        if let Poll::Ready(Ok(())) = poll {
            self.meter.record_text(&buf.filled()[before..]);
        }
        poll
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *lock(&self.layer) {
            Layer::Plain(s) => Pin::new(s).poll_write(cx, data),
            Layer::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
            Layer::Detached => Poll::Ready(Err(detached())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *lock(&self.layer) {
            Layer::Plain(s) => Pin::new(s).poll_flush(cx),
            Layer::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Layer::Detached => Poll::Ready(Err(detached())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *lock(&self.layer) {
            Layer::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Layer::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Layer::Detached => Poll::Ready(Ok(())),
        }
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Conn {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}
