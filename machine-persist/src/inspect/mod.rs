//! The web inspector: time travel you can see, embedded in your application.
//!
//! Register the repositories you already have and mount the router (or call
//! [`serve`](Inspector::serve)); the pages then show, for every stored actor of those machine
//! types:
//!
//! * the actor list: search by id, filter by machine type, state and last activity;
//! * one actor: its registry row; a slider over its versions (arrow keys step through them); the
//!   state at the selected version, computed by the same fold as
//!   [`Repository::state_at`](crate::Repository::state_at); the event that led there with its
//!   metadata and time; a property-level diff against the state before; the statechart with the
//!   state at that version and the transition taken highlighted; the
//!   [divergence check](crate::verify) on demand;
//! * live updates: new events appear without a reload (server-sent events).
//!
//! ```no_run
//! # async fn run<M: machine_persist::Persistable + machine_core::Diagram>(
//! #     orders: machine_persist::Repository<M>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use machine_persist::inspect::Inspector;
//!
//! // Mount it in an existing axum application ...
//! let app = axum::Router::new().nest("/inspect", Inspector::new().register(&orders).router());
//! # let _ = app;
//! // ... or serve it on its own, on the loopback interface.
//! let server = Inspector::new().register(&orders).serve("127.0.0.1:7878").await?;
//! println!("inspector at {}", server.url());
//! # Ok(()) }
//! ```
//!
//! # Safety of a debugging tool
//!
//! * **Read-only by default.** Rewinding a running actor from the page
//!   ([`replay_to`](crate::PersistentRef::replay_to) and
//!   [`resume`](crate::PersistentRef::resume)) is offered only after
//!   [`allow_rewind(true)`](Inspector::allow_rewind); it never rewrites the journal.
//! * **Local by default.** [`serve`](Inspector::serve) refuses an address that is not a
//!   loopback address unless [`allow_remote(true)`](Inspector::allow_remote), and then checks
//!   nothing else: give it a [`bearer_token`](Inspector::bearer_token). With a token, scripts
//!   send `Authorization: Bearer …`; a browser opens the page once with `?token=…`, which sets a
//!   same-site, HTTP-only cookie.
//! * **Store data is text.** Every value read from the store reaches the page as JSON and is
//!   shown with `textContent`, never as markup, and a strict content security policy forbids
//!   inline scripts: an event payload holding `<script>` shows as those characters.
//! * **Offline.** The page, its script, its styles and the statechart (drawn server-side as SVG
//!   from the machine's [`Diagram`]) are built into the binary: no CDN, no network.
//!
//! # Live updates
//!
//! The page subscribes to `api/live` (server-sent events). The server finds new events with a
//! [`JournalTail`](crate::tail::JournalTail), which reads the store's global event stream every
//! [`poll_interval`](Inspector::poll_interval).

mod api;
mod assets;
mod auth;
mod chart;
mod diff;
mod escape;
mod live;
mod server;
mod target;

use std::sync::Arc;
use std::time::Duration;

use machine_core::Diagram;

use crate::{Persistable, Repository};

pub use server::{InspectError, InspectorServer};

use target::{Target, Typed};

/// How often the live view looks for new events by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What every request handler shares.
pub(crate) struct Shared {
    targets: Vec<Arc<dyn Target>>,
    allow_rewind: bool,
    token: Option<String>,
    poll_interval: Duration,
    /// Flipped to `true` when the server shuts down; live streams end then.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn target(&self, machine_type: &str) -> Option<&Arc<dyn Target>> {
        self.targets
            .iter()
            .find(|target| target.machine_type() == machine_type)
    }
}

/// The inspector of some machine types: build it, then take its [`router`](Self::router) or
/// [`serve`](Self::serve) it. See the [module docs](self).
pub struct Inspector {
    shared: Shared,
    allow_remote: bool,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<&str> = self
            .shared
            .targets
            .iter()
            .map(|t| t.machine_type())
            .collect();
        f.debug_struct("Inspector")
            .field("machine_types", &types)
            .field("allow_rewind", &self.shared.allow_rewind)
            .field("token", &self.shared.token.as_ref().map(|_| "…"))
            .field("poll_interval", &self.shared.poll_interval)
            .field("allow_remote", &self.allow_remote)
            .finish()
    }
}

impl Default for Inspector {
    fn default() -> Self {
        Self::new()
    }
}

impl Inspector {
    /// An inspector of no machine type yet: read-only, local, no token.
    pub fn new() -> Self {
        Self {
            shared: Shared {
                targets: Vec::new(),
                allow_rewind: false,
                token: None,
                poll_interval: DEFAULT_POLL_INTERVAL,
                closing: tokio::sync::watch::Sender::new(false),
            },
            allow_remote: false,
        }
    }

    /// Shows the actors of `repository`'s machine type. Registering a machine type again
    /// replaces the earlier registration.
    pub fn register<M: Persistable + Diagram>(mut self, repository: &Repository<M>) -> Self {
        let target: Arc<dyn Target> = Arc::new(Typed::new(repository.clone()));
        self.shared
            .targets
            .retain(|known| known.machine_type() != target.machine_type());
        self.shared.targets.push(target);
        self
    }

    /// Whether the page may rewind a running actor to an older version and resume it
    /// (default: no).
    pub fn allow_rewind(mut self, allow: bool) -> Self {
        self.shared.allow_rewind = allow;
        self
    }

    /// Requires this token on every request (`Authorization: Bearer <token>`, or the cookie a
    /// browser gets by opening the page with `?token=<token>`).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.shared.token = Some(token.into());
        self
    }

    /// How often the live view polls the store for new events (default
    /// [`DEFAULT_POLL_INTERVAL`]).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.shared.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Whether [`serve`](Self::serve) may listen on an address other than a loopback one
    /// (default: no). Set a [`bearer_token`](Self::bearer_token) too.
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// The pages and their API as an axum router, to mount anywhere (`nest` works: links are
    /// relative).
    pub fn router(self) -> axum::Router {
        api::router(Arc::new(self.shared))
    }
}
