//! [`ProjectionRunner`]: catch up from the checkpoint, then follow the stream live.
//!
//! One loop serves both delivery modes; a [`Delivery`] is what differs: how a page of events
//! reaches the read model and how the checkpoint is saved.
//!
//! The loop reads a page after its position, decodes it, hands it to the delivery, and moves
//! to the page's `through`. A full page means more is waiting: read again at once, and in fact
//! already, because the read of the next page starts as soon as a full page arrives and runs
//! while this one is decoded and delivered ([`ReadAhead`]). A page that is
//! not full means the projection caught up: it waits for the store's commit signal or the poll
//! interval, whichever comes first, and saves its checkpoint when a poll interval passed without
//! a commit (under a steady stream of commits, the delivery mode's own schedule saves it). The
//! wake-up future is armed before each read, so a commit that lands between the read and the
//! wait still wakes it.
//!
//! The commit signal wakes the projection on this process's commits, and, on Postgres, on other
//! processes' too (the runner asks the store to [`listen`](crate::store::CommitSignal::listen)).
//! Either way it is a hint: the poll interval stays the fallback for a wake-up that was lost.
//! A signal can arrive before the stream's horizon passed the commit it announces (an older
//! transaction still open): when the store says so
//! ([`CommitSignal::hinted`](crate::store::CommitSignal::hinted)), the runner reads again after
//! a short, doubling pause (from 2 ms, at most 10 ms or the poll interval) instead of waiting for
//! the next signal: the horizon passes the commit when the older transaction ends, which sends no
//! signal of its own. A reread whose horizon has not moved costs one cheap query.
//!
//! Transient store errors (a lost connection, a deadline) never end a projection: it waits a
//! poll interval, reloads its checkpoint (an interrupted commit may or may not have saved it),
//! and carries on from there. Everything else ends it with a [`ProjectionError`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use machine_core::Schedule;
use tokio::sync::watch;

use super::read_ahead::ReadAhead;
use super::status::{HeadProbe, Phase, ProjectionHandle, ProjectionStatus};
use super::{AtLeastOnce, Envelope, Partition, Projection, ProjectionError, Subscription};
use crate::store::{check_name, GlobalPosition, StreamPage};
use crate::{Store, StoreError};

/// The default number of events read per page.
pub const DEFAULT_BATCH: usize = 512;
/// The default poll interval (for commits of other processes).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The first pause before reading again when a page ended below a signalled commit.
const FIRST_REREAD: Duration = Duration::from_millis(2);
/// The longest such pause: a commit that became readable is seen at most this late.
const LAST_REREAD: Duration = Duration::from_millis(10);

/// Why a delivery failed.
pub(super) enum Failure {
    /// A store error that may pass: reload the checkpoint and try again.
    Transient(StoreError),
    /// The projection stops.
    Fatal(ProjectionError),
}

impl Failure {
    /// A store error of projection `name`: transient or fatal as the error says.
    pub(super) fn store(name: &str, error: StoreError) -> Self {
        if error.is_transient() {
            Self::Transient(error)
        } else {
            Self::Fatal(ProjectionError::Store {
                projection: name.to_owned(),
                source: error,
            })
        }
    }
}

/// How a mode delivers pages and keeps its checkpoint.
pub(super) trait Delivery<E>: Send {
    /// Forgets the read model and the checkpoint (a rebuild).
    fn reset(&mut self) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Handles `events` (possibly none) and records that everything through `through` is done,
    /// saving the checkpoint when due. Returns the checkpoint saved, if one was.
    fn deliver(
        &mut self,
        events: &[Envelope<E>],
        through: GlobalPosition,
    ) -> impl Future<Output = Result<Option<GlobalPosition>, Failure>> + Send;

    /// Saves the checkpoint of everything delivered, if not saved yet.
    fn flush(&mut self) -> impl Future<Output = Result<Option<GlobalPosition>, Failure>> + Send;

    /// Forgets what was delivered but not saved (after a transient failure, the loop resumes at
    /// the stored checkpoint).
    fn forget_unsaved(&mut self);
}

/// The settings of a runner.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    pub(super) batch: usize,
    pub(super) checkpoint_events: u64,
    pub(super) checkpoint_interval: Duration,
    pub(super) poll_interval: Duration,
    pub(super) retry: Schedule,
    pub(super) rebuild: bool,
    pub(super) partition: Option<Partition>,
}

/// Runs a projection over a store: configure, then [`spawn`](Self::spawn) it (at-least-once) or
/// `spawn_exactly_once` (a read model in the same SQL database), or run a one-off
/// [`catch_up`](Self::catch_up).
///
/// ```
/// use std::time::Duration;
/// use machine_persist::projection::{ProjectionRunner, Subscription};
/// use machine_persist::MemoryStore;
///
/// let runner = ProjectionRunner::new(MemoryStore::new(), "orders-by-status", Subscription::<()>::new())
///     .batch(1_000)
///     .checkpoint_every(500, Duration::from_secs(1))
///     .poll_interval(Duration::from_millis(100));
/// # let _ = runner;
/// ```
#[derive(Debug)]
pub struct ProjectionRunner<S, E> {
    pub(super) store: S,
    pub(super) name: String,
    pub(super) subscription: Subscription<E>,
    pub(super) settings: Settings,
}

impl<S: Store, E: Send + Sync + 'static> ProjectionRunner<S, E> {
    /// A runner for the projection `name` (its checkpoint's key in `store`) reading the events
    /// `subscription` selects. Defaults: pages of [`DEFAULT_BATCH`], a checkpoint every 1,000
    /// events or second (at-least-once), polling every [`DEFAULT_POLL_INTERVAL`], a failed
    /// handler retried 5 times from 10 ms, doubling.
    pub fn new(store: S, name: impl Into<String>, subscription: Subscription<E>) -> Self {
        Self {
            store,
            name: name.into(),
            subscription,
            settings: Settings {
                batch: DEFAULT_BATCH,
                checkpoint_events: 1_000,
                checkpoint_interval: Duration::from_secs(1),
                poll_interval: DEFAULT_POLL_INTERVAL,
                retry: Schedule::exponential(Duration::from_millis(10))
                    .intersect(Schedule::recurs(5)),
                rebuild: false,
                partition: None,
            },
        }
    }

    /// Reads up to `events` per page (at least 1). Exactly-once commits one transaction per page.
    pub fn batch(mut self, events: usize) -> Self {
        self.settings.batch = events.max(1);
        self
    }

    /// At-least-once: saves the checkpoint once `events` were handled or `interval` passed since
    /// the last save, whichever is first, when the stream has been quiet for a poll interval, and
    /// when the projection stops. A crash redelivers at most what came after the last save.
    pub fn checkpoint_every(mut self, events: u64, interval: Duration) -> Self {
        self.settings.checkpoint_events = events.max(1);
        self.settings.checkpoint_interval = interval;
        self
    }

    /// How often a caught-up projection looks for commits the store did not signal: those of
    /// other processes on SQLite, and any whose wake-up was lost (a Postgres listener
    /// reconnecting).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// How a failing handler is retried before the projection stops (each failure steps the
    /// schedule once; `Done` stops).
    pub fn retry(mut self, schedule: Schedule) -> Self {
        self.settings.retry = schedule;
        self
    }

    /// Starts over: resets the read model and deletes the checkpoint, then replays the stream
    /// from the beginning.
    pub fn rebuild(mut self) -> Self {
        self.settings.rebuild = true;
        self
    }

    /// Makes this runner one worker of a partitioned projection: it handles only the actors
    /// `partition` owns, and keeps its checkpoint under the name with `/i-of-K` appended (see
    /// [`Partition`]). Run one runner per partition, each with its own read-model handler.
    pub fn partition(mut self, partition: Partition) -> Self {
        self.settings.partition = Some(partition);
        self
    }

    /// The runner with the name its checkpoint is kept under.
    pub(super) fn named(mut self) -> Self {
        if let Some(partition) = self.settings.partition.take() {
            self.name = format!("{}/{partition}", self.name);
            self.settings.partition = Some(partition);
        }
        self
    }

    /// Runs `projection` at least once, live, until stopped or failed.
    pub fn spawn<P: Projection<Event = E>>(self, projection: P) -> ProjectionHandle {
        let this = self.named();
        let delivery = AtLeastOnce::new(
            this.store.clone(),
            this.name.clone(),
            projection,
            &this.settings,
        );
        this.spawn_with(delivery, true)
    }

    /// Runs `projection` at least once until it has caught up with the stream, saves its
    /// checkpoint and returns its status.
    pub async fn catch_up<P: Projection<Event = E>>(
        self,
        projection: P,
    ) -> Result<ProjectionStatus, ProjectionError> {
        let this = self.named();
        let delivery = AtLeastOnce::new(
            this.store.clone(),
            this.name.clone(),
            projection,
            &this.settings,
        );
        this.run_once(delivery).await
    }

    pub(super) async fn run_once<D: Delivery<E> + 'static>(
        self,
        delivery: D,
    ) -> Result<ProjectionStatus, ProjectionError> {
        let (status, receiver) = watch::channel(ProjectionStatus::starting(&self.name));
        let (_stop, stopped) = watch::channel(false);
        Loop {
            store: self.store,
            name: self.name,
            subscription: self.subscription,
            settings: self.settings,
            status,
        }
        .run(delivery, false, stopped)
        .await?;
        let done = receiver.borrow().clone();
        Ok(done)
    }

    pub(super) fn spawn_with<D: Delivery<E> + 'static>(
        self,
        delivery: D,
        follow: bool,
    ) -> ProjectionHandle {
        let (status, receiver) = watch::channel(ProjectionStatus::starting(&self.name));
        let (stop, stopped) = watch::channel(false);
        let store = self.store.clone();
        let head: HeadProbe = Arc::new(move || {
            let store = store.clone();
            Box::pin(async move { store.stream_head().await })
        });
        let name = self.name.clone();
        let task = tokio::spawn(
            Loop {
                store: self.store,
                name: self.name,
                subscription: self.subscription,
                settings: self.settings,
                status,
            }
            .run(delivery, follow, stopped),
        );
        ProjectionHandle {
            name,
            status: receiver,
            stop,
            task,
            head,
        }
    }
}

/// One running projection.
struct Loop<S, E> {
    store: S,
    name: String,
    subscription: Subscription<E>,
    settings: Settings,
    status: watch::Sender<ProjectionStatus>,
}

impl<S: Store, E: Send + Sync + 'static> Loop<S, E> {
    async fn run<D: Delivery<E>>(
        self,
        delivery: D,
        follow: bool,
        stop: watch::Receiver<bool>,
    ) -> Result<(), ProjectionError> {
        let result = self.drive(delivery, follow, stop).await;
        let phase = if result.is_ok() {
            Phase::Stopped
        } else {
            Phase::Failed
        };
        self.status.send_modify(|status| status.phase = phase);
        if let Err(error) = &result {
            tracing::error!(projection = %self.name, %error, "projection stopped");
        }
        result
    }

    fn store_error(&self, source: StoreError) -> ProjectionError {
        ProjectionError::Store {
            projection: self.name.clone(),
            source,
        }
    }

    /// The stored checkpoint, retrying transient errors.
    async fn checkpoint(
        &self,
        stop: &watch::Receiver<bool>,
    ) -> Result<GlobalPosition, ProjectionError> {
        loop {
            match self.store.load_checkpoint(&self.name).await {
                Ok(found) => {
                    self.status.send_modify(|status| {
                        status.checkpoint = found;
                        status.processed = found.unwrap_or_default();
                    });
                    return Ok(found.unwrap_or_default());
                }
                Err(error) if error.is_transient() && !*stop.borrow() => {
                    self.transient("load checkpoint", &error).await;
                }
                Err(error) => return Err(self.store_error(error)),
            }
        }
    }

    async fn transient(&self, doing: &str, error: &StoreError) {
        tracing::warn!(projection = %self.name, %error, "{doing} failed; retrying");
        tokio::time::sleep(self.settings.poll_interval).await;
    }

    async fn drive<D: Delivery<E>>(
        &self,
        mut delivery: D,
        follow: bool,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ProjectionError> {
        check_name(&self.name).map_err(|error| self.store_error(error))?;
        if self.subscription.is_empty() {
            return Err(ProjectionError::NothingSubscribed {
                projection: self.name.clone(),
            });
        }
        let mut pages = ReadAhead::new(
            self.store.clone(),
            self.subscription.filter(),
            self.settings.batch,
        );
        if self.settings.rebuild {
            loop {
                match delivery.reset().await {
                    Ok(()) => break,
                    Err(Failure::Transient(error)) => self.transient("reset", &error).await,
                    Err(Failure::Fatal(error)) => return Err(error),
                }
            }
        }
        let mut at = self.checkpoint(&stop).await?;
        let signal = self.store.commit_signal().clone();
        if follow {
            signal.listen();
        }
        // The pause before reading again while a page ends below a signalled commit.
        let mut reread: Option<Duration> = None;
        // A dropped handle closes the stop channel: the projection then runs on, unstoppable.
        let mut stoppable = true;
        loop {
            if *stop.borrow() {
                break;
            }
            let woken = signal.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let (page, read_ahead) = pages.page(at).await;
            let page = match page {
                Ok(page) => page,
                Err(error) if error.is_transient() => {
                    self.transient("read the stream", &error).await;
                    continue;
                }
                Err(error) => return Err(self.store_error(error)),
            };
            if page.entries.len() >= self.settings.batch {
                pages.read_next(page.through);
            }
            let (events, through, full, unreadable) = self.decode(at, page);
            match delivery.deliver(&events, through).await {
                Ok(saved) => {
                    at = through;
                    self.progress(&events, through, saved, full);
                }
                Err(Failure::Transient(error)) => {
                    self.transient("deliver", &error).await;
                    delivery.forget_unsaved();
                    at = self.checkpoint(&stop).await?;
                    continue;
                }
                Err(Failure::Fatal(error)) => {
                    let _ = delivery.flush().await;
                    return Err(error);
                }
            }
            if let Some(error) = unreadable {
                let _ = delivery.flush().await;
                return Err(error);
            }
            // A page read ahead was read before `woken` was armed: read again before waiting.
            if full || read_ahead {
                continue;
            }
            if !follow {
                return match delivery.flush().await {
                    Ok(saved) => {
                        self.saved(saved);
                        Ok(())
                    }
                    Err(Failure::Transient(error)) => Err(self.store_error(error)),
                    Err(Failure::Fatal(error)) => Err(error),
                };
            }
            // Caught up. Under a steady stream of commits the checkpoint is saved as the mode
            // says (every N events or T); once the stream has been quiet for a poll interval,
            // everything delivered is saved.
            let behind = through < signal.hinted();
            reread = behind.then(|| {
                reread
                    .map_or(FIRST_REREAD, |pause| pause * 2)
                    .min(LAST_REREAD)
                    .min(self.settings.poll_interval)
            });
            let quiet = tokio::select! {
                () = &mut woken => false,
                () = tokio::time::sleep(reread.unwrap_or(self.settings.poll_interval)) => !behind,
                changed = stop.changed(), if stoppable => {
                    stoppable = changed.is_ok();
                    false
                }
            };
            if quiet {
                match delivery.flush().await {
                    Ok(saved) => self.saved(saved),
                    Err(Failure::Transient(error)) => {
                        self.transient("save the checkpoint", &error).await;
                    }
                    Err(Failure::Fatal(error)) => return Err(error),
                }
            }
        }
        match delivery.flush().await {
            Ok(saved) => {
                self.saved(saved);
                Ok(())
            }
            Err(Failure::Transient(error)) => Err(self.store_error(error)),
            Err(Failure::Fatal(error)) => Err(error),
        }
    }

    /// `page`, the page after `at`, decoded. An event that cannot be read or decoded ends the
    /// page before it, with the error the projection stops with once the events before it are
    /// delivered.
    fn decode(
        &self,
        at: GlobalPosition,
        page: StreamPage,
    ) -> (
        Vec<Envelope<E>>,
        GlobalPosition,
        bool,
        Option<ProjectionError>,
    ) {
        let full = page.entries.len() >= self.settings.batch;
        let mut events = Vec::with_capacity(page.entries.len());
        let mut through = page.through;
        let mut unreadable = None;
        for entry in page.entries {
            let decoded = entry
                .event
                .map_err(crate::PersistError::from)
                .and_then(|stored| self.subscription.decode(entry.at, stored));
            match decoded {
                Ok(Some(event))
                    if self
                        .settings
                        .partition
                        .is_some_and(|partition| !partition.owns(&event.actor_id)) => {}
                Ok(Some(event)) => events.push(event),
                Ok(None) => {}
                Err(source) => {
                    through = events
                        .last()
                        .map_or(at, |event: &Envelope<E>| event.position);
                    unreadable = Some(ProjectionError::Unreadable {
                        projection: self.name.clone(),
                        position: entry.at,
                        source,
                    });
                    break;
                }
            }
        }
        (events, through, full && unreadable.is_none(), unreadable)
    }

    fn progress(
        &self,
        events: &[Envelope<E>],
        through: GlobalPosition,
        saved: Option<GlobalPosition>,
        full: bool,
    ) {
        let lag = events.last().map(|event| {
            (chrono::Utc::now() - event.recorded_at)
                .to_std()
                .unwrap_or_default()
        });
        self.status.send_modify(|status| {
            status.processed = through;
            status.handled += events.len() as u64;
            if let Some(lag) = lag {
                status.lag = lag;
            }
            if saved.is_some() {
                status.checkpoint = saved;
            }
            status.phase = if full { Phase::CatchingUp } else { Phase::Live };
        });
    }

    fn saved(&self, saved: Option<GlobalPosition>) {
        if saved.is_some() {
            self.status.send_modify(|status| status.checkpoint = saved);
        }
    }
}
