//! A TCP proxy between a client and its server that can break the network on command.
//!
//! Fault tests put it between a store and its database server to produce what a real network
//! does: a stall (the server unreachable while every connection stays open, so only a
//! client-side deadline ends a call), a connection cut, the worst case for a commit, a request
//! that reaches the server while its answer never comes back, and requests that arrive late
//! (held on their way while the answers still come through).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use machine_test_support::proxy::Proxy;
//! let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await?;
//! // connect the client to proxy.addr() ...
//! proxy.stall();   // nothing moves, nothing closes
//! proxy.resume();
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Forward both ways.
    Forward,
    /// Forward nothing, close nothing.
    Stall,
    /// Hold what the clients send, forward what the server sends; count held reads of at
    /// least this many bytes.
    HoldRequests(usize),
    /// Forward the next request of at least this many bytes a client sends, drop every answer,
    /// then close that connection (after a pause that lets the server finish the request).
    SeverNextRequest(usize),
}

struct Control {
    mode: watch::Sender<Mode>,
    /// Raised to close every connection open now.
    generation: watch::Sender<u64>,
    severed: AtomicU64,
    /// Client reads held now by [`Mode::HoldRequests`] (of at least its size).
    held: AtomicU64,
}

/// A running proxy; dropping it stops accepting and closes every connection.
pub struct Proxy {
    addr: SocketAddr,
    control: Arc<Control>,
    acceptor: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

impl Proxy {
    /// Listens on an ephemeral local port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let control = Arc::new(Control {
            mode: watch::channel(Mode::Forward).0,
            generation: watch::channel(0).0,
            severed: AtomicU64::new(0),
            held: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&control);
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let control = Arc::clone(&accepting);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, control).await;
                    }
                });
            }
        });
        Ok(Self {
            addr,
            control,
            acceptor,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops forwarding in both directions; connections stay open.
    pub fn stall(&self) {
        self.control.mode.send_replace(Mode::Stall);
    }

    /// Holds everything the clients send (it reaches the server on [`resume`](Self::resume),
    /// in order) while the server's answers still come through: a client's requests leave it
    /// but arrive late. [`held`](Self::held) counts the held reads of at least `min_bytes`.
    pub fn hold_requests(&self, min_bytes: usize) {
        self.control
            .mode
            .send_replace(Mode::HoldRequests(min_bytes));
    }

    /// How many client reads of at least the size given to
    /// [`hold_requests`](Self::hold_requests) are held now.
    pub fn held(&self) -> u64 {
        self.control.held.load(Ordering::SeqCst)
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.control.mode.send_replace(Mode::Forward);
    }

    /// The next request of at least `min_bytes` any client sends (smaller ones, such as a
    /// protocol's keep-alive or sync messages, pass) reaches the server, but its answer is
    /// dropped and that connection is closed: the client cannot know whether the server acted on
    /// it. Then the proxy forwards again.
    pub fn sever_next_request(&self, min_bytes: usize) {
        self.control
            .mode
            .send_replace(Mode::SeverNextRequest(min_bytes));
    }

    /// How many connections were severed by [`sever_next_request`](Self::sever_next_request).
    pub fn severed(&self) -> u64 {
        self.control.severed.load(Ordering::SeqCst)
    }

    /// Closes every connection open now (new ones are accepted).
    pub fn cut(&self) {
        self.control
            .generation
            .send_modify(|generation| *generation += 1);
    }
}

/// Pumps bytes both ways until either side closes, the proxy cuts the connection, or the
/// connection is severed.
async fn relay(client: TcpStream, server: TcpStream, control: Arc<Control>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut generation = control.generation.subscribe();
    let (severing, _) = watch::channel(false);
    let severing = Arc::new(severing);
    let up = pump(
        client_read,
        server_write,
        Arc::clone(&control),
        Arc::clone(&severing),
        true,
    );
    let down = pump(
        server_read,
        client_write,
        Arc::clone(&control),
        Arc::clone(&severing),
        false,
    );
    tokio::select! {
        // A cut goes first: after `cut` then `resume`, both this and a pump holding bytes are
        // ready, and the held bytes must not reach the server.
        biased;
        _ = generation.changed() => {}
        _ = up => {}
        _ = down => {}
    }
}

/// One direction of a connection. `upstream` is client → server.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    control: Arc<Control>,
    severing: Arc<watch::Sender<bool>>,
    upstream: bool,
) {
    let mut mode = control.mode.subscribe();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        // Hold the bytes while stalled, or while requests are held and these are one.
        let holding = |mode: Mode| match mode {
            Mode::Stall => Some(false),
            Mode::HoldRequests(min_bytes) if upstream => Some(read >= min_bytes),
            _ => None,
        };
        let mut counted = false;
        loop {
            let now = *mode.borrow_and_update();
            let Some(count) = holding(now) else {
                break;
            };
            if count && !counted {
                control.held.fetch_add(1, Ordering::SeqCst);
                counted = true;
            }
            if mode.changed().await.is_err() {
                break;
            }
        }
        if counted {
            control.held.fetch_sub(1, Ordering::SeqCst);
        }
        if holding(*mode.borrow()).is_some() {
            // The proxy is gone.
            return;
        }
        if *severing.borrow() {
            // The connection is being severed: nothing more crosses it.
            continue;
        }
        let sever = upstream
            && matches!(*mode.borrow(), Mode::SeverNextRequest(min_bytes) if read >= min_bytes);
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
        if sever {
            control.mode.send_replace(Mode::Forward);
            control.severed.fetch_add(1, Ordering::SeqCst);
            severing.send_replace(true);
            // Let the server act on the request, then close without an answer.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
    }
}
