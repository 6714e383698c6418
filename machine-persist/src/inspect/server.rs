//! [`Inspector::serve`]: the inspector on its own listener, for quick use.

use std::io;
use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Inspector;

/// Why the inspector could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The address could not be bound.
    #[error("cannot listen for the inspector: {0}")]
    Bind(#[source] io::Error),
    /// The address is not a loopback address and remote access was not allowed.
    #[error("{0} is not a loopback address; call allow_remote(true) (and set a bearer token) to serve it")]
    NotLoopback(SocketAddr),
    /// The server failed while running.
    #[error("the inspector's server failed: {0}")]
    Server(#[source] io::Error),
    /// The server task ended abnormally.
    #[error("the inspector's server task ended abnormally: {0}")]
    Task(#[source] tokio::task::JoinError),
}

/// A running inspector: where it listens, and how to stop it.
#[derive(Debug)]
pub struct InspectorServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl InspectorServer {
    /// The address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the actor list.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting connections, lets open requests finish (live streams end) and waits.
    pub async fn shutdown(mut self) -> Result<(), InspectError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server ends (it runs until [`shutdown`](Self::shutdown) or a failure).
    pub async fn wait(self) -> Result<(), InspectError> {
        let task = self.task;
        task.await
            .map_err(InspectError::Task)?
            .map_err(InspectError::Server)
    }
}

/// Refuses requests whose `Host` is not a loopback name: a page of another site that points a
/// DNS name at 127.0.0.1 (DNS rebinding) must not read the inspector.
async fn loopback_host(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let local = matches!(name, "localhost" | "[::1]") || name.starts_with("127.");
    if !local {
        return (
            StatusCode::FORBIDDEN,
            "the inspector answers loopback host names only",
        )
            .into_response();
    }
    next.run(request).await
}

impl Inspector {
    /// Serves the inspector on `addr` (`"127.0.0.1:7878"`; port 0 picks a free port) in a
    /// background task, and returns once it listens. A non-loopback address is refused unless
    /// [`allow_remote(true)`](Self::allow_remote).
    pub async fn serve(self, addr: impl ToSocketAddrs) -> Result<InspectorServer, InspectError> {
        let listener = TcpListener::bind(addr).await.map_err(InspectError::Bind)?;
        let addr = listener.local_addr().map_err(InspectError::Bind)?;
        let loopback = addr.ip().is_loopback();
        if !loopback && !self.allow_remote {
            return Err(InspectError::NotLoopback(addr));
        }
        if !loopback && self.shared.token.is_none() {
            tracing::warn!(%addr, "the inspector serves a non-loopback address without a token");
        }
        let shared = std::sync::Arc::new(self.shared);
        let mut router = super::api::router(std::sync::Arc::clone(&shared));
        if loopback {
            router = router.layer(axum::middleware::from_fn(loopback_host));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    // Live streams never end on their own: end them, so the shutdown completes.
                    shared.closing.send_replace(true);
                })
                .await
        });
        tracing::info!(%addr, "inspector listening");
        Ok(InspectorServer {
            addr,
            stop: Some(stop),
            task,
        })
    }
}
