//! The actor loop: one tokio task per actor.
//!
//! The loop reads its system's shutdown flag before each message, then waits for the first of
//! a timer (a state timeout or the durability layer's deadline, see [`timer`]) and a message.
//! Events are processed in batches (see [`batch`]: a pure [`apply`] step, then one commit),
//! control messages one at a time (see [`control`]).
//!
//! The machine's own code (handlers and hooks) runs on this task. When it panics, the actor
//! catches the panic, rolls back the batch it was applying, answers that batch's callers with
//! [`ActorError::HandlerPanicked`] and stops with [`StopReason::Panicked`]. Effects run on
//! tasks of their own (see [`effects`]).

mod apply;
mod batch;
mod control;
mod effects;
mod panic;
mod passivate;
mod replies;
mod scope;
mod timer;
mod watch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use self::batch::Batch;
use self::effects::Spawner;
use self::scope::ScopeState;
use self::timer::Timer;
use self::watch::{Waiter, Watchers};
use super::durability::{Current, Durability, Start};
use super::mailbox::{Control, Envelope, Message, Msg, Origin};
use super::registry::Registration;
use super::{ActorError, ActorRef, SpawnOptions, StopReason};
use crate::effect::{Background, Scope};
use crate::inspect::{Record, RecordKind};
use crate::model::{ActorId, Machine};

/// A time-travel view: the state shown while rewound, and scoped events held until resumed.
struct Rewound<M: Machine> {
    state: M,
    version: u64,
    held: Vec<Envelope<M>>,
}

/// What to do after handling a message.
pub(super) enum Flow {
    Continue,
    Stop(StopReason),
}

/// What woke the loop.
enum Wake<M: Machine> {
    Timer,
    Message(Msg<M>),
    Disconnected,
}

impl<M: Machine> Wake<M> {
    /// What the mailbox gave: a message, or `None` once no sender is left.
    fn received(message: Option<Msg<M>>) -> Self {
        message.map_or(Wake::Disconnected, Wake::Message)
    }
}

pub(crate) struct Actor<M: Machine, D> {
    id: ActorId,
    state: M,
    version: u64,
    entered_at: SystemTime,
    durability: D,
    max_batch: u32,
    stream_capacity: u32,
    spawner: Spawner<M>,
    /// The system's shutdown flag.
    stopping: Arc<AtomicBool>,
    scope: ScopeState<M>,
    background: Vec<tokio::task::AbortHandle>,
    /// Subscribers and waiters, made when the first one comes.
    watchers: Option<Box<Watchers<M>>>,
    rewound: Option<Box<Rewound<M>>>,
    /// Who asked to stop; later `stop` calls hear back when their message is dropped.
    stop_reply: Option<oneshot::Sender<()>>,
    /// The batch buffers, made with the first event and kept between batches.
    batch: Option<Box<Batch<M>>>,
}

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    pub(crate) fn new(
        start: Start<M>,
        env: Arc<M::Env>,
        durability: D,
        options: SpawnOptions<M>,
        myself: ActorRef<M>,
        stopping: Arc<AtomicBool>,
        tracker: TaskTracker,
    ) -> Self {
        let id = myself.id().clone();
        Self {
            spawner: Spawner::new(env, myself, options.observer, tracker),
            id,
            state: start.state,
            version: start.version,
            entered_at: start.entered_at,
            durability,
            max_batch: u32::try_from(options.max_batch).unwrap_or(u32::MAX),
            stream_capacity: u32::try_from(options.stream_capacity).unwrap_or(u32::MAX),
            stopping,
            scope: ScopeState::default(),
            background: Vec::new(),
            watchers: None,
            rewound: None,
            stop_reply: None,
            batch: None,
        }
    }

    fn observe(&self, kind: RecordKind<'_, M>) {
        if let Some(observer) = &self.spawner.observer {
            observer.record(&Record::now(&self.id, kind));
        }
    }

    /// The watchers, made if there are none yet.
    fn watchers(&mut self) -> &mut Watchers<M> {
        self.watchers.get_or_insert_with(Box::default)
    }

    /// The actor's life: start effects, loop, stop.
    ///
    /// A plain `fn` returning an `async move` block rather than an `async fn`: an `async fn`
    /// would keep its arguments and their moved copies both in the future, doubling the size of
    /// every idle actor.
    pub(crate) fn run(
        self,
        mailbox: mpsc::Receiver<Msg<M>>,
        registration: Registration,
    ) -> impl std::future::Future<Output = ()> + Send {
        let mut actor = self;
        let mut mailbox = mailbox;
        async move {
            tracing::debug!(machine = M::NAME, actor = %actor.id, version = actor.version, "actor started");
            actor.observe(RecordKind::Spawned {
                state: &actor.state,
                version: actor.version,
            });
            let reason = match panic::catch(|| actor.start_effects()) {
                Ok(false) => actor.serve(&mut mailbox).await,
                Ok(true) => StopReason::Final,
                Err(message) => {
                    actor.handler_panicked(message.clone());
                    StopReason::Panicked { message }
                }
            };
            actor.finish(&reason).await;
            // Unregister before anyone waiting on `stop` hears back, so the id can be reused
            // at once.
            drop(registration);
            // Closing refuses new messages; the queued ones are dismissed: their calls get
            // `Stopped`, their waits see the state the actor stopped in.
            mailbox.close();
            while let Ok(message) = mailbox.try_recv() {
                if let Message::Control(control) = *message {
                    actor.dismiss(*control);
                }
            }
            if let Some(reply) = actor.stop_reply.take() {
                let _ = reply.send(());
            }
        }
    }

    /// Starts the background tasks and the starting state's scope; returns whether that state
    /// is final (the actor then stops at once).
    fn start_effects(&mut self) -> bool {
        let mut background = Background::default();
        self.state.background(&mut background);
        let mut scope = Scope::default();
        self.state.enter(&mut scope);
        let is_final = self.state.is_final();
        for task in background.tasks {
            let failures = self.durability.effect_failures();
            let handle = self.spawner.background(task, self.version, failures);
            self.background.push(handle);
        }
        let elapsed = SystemTime::now()
            .duration_since(self.entered_at)
            .unwrap_or_default();
        self.enter_scope(scope, elapsed);
        is_final
    }

    /// Reports a panic of the machine's code and returns the error its callers get.
    fn handler_panicked(&self, message: String) -> ActorError {
        tracing::error!(machine = M::NAME, actor = %self.id, message, "a handler panicked; the actor stops");
        let error = ActorError::HandlerPanicked {
            actor_id: self.id.clone(),
            message,
        };
        self.observe(RecordKind::Error { error: &error });
        error
    }

    async fn serve(&mut self, mailbox: &mut mpsc::Receiver<Msg<M>>) -> StopReason {
        let mut timer = Timer::default();
        // When the actor last did something: the passivation countdown starts there.
        let mut idle_since = Instant::now();
        loop {
            // Read before every message, so a busy actor stops after the batch in hand; an
            // idle one is woken by a `Shutdown` message.
            if self.stopping.load(Ordering::Acquire) {
                return StopReason::Shutdown;
            }
            timer.set(self.next_timer(idle_since));
            // Without a deadline there is only the mailbox to wait for, and no `select!` to set
            // up on every message.
            let wake = if !timer.is_armed() {
                Wake::received(mailbox.recv().await)
            } else if self
                .scope
                .next_deadline()
                .is_some_and(|deadline| deadline <= Instant::now())
            {
                // An overdue timeout (a restored actor's, fallen due while no process ran it)
                // goes before any queued message. Only the scope's: taking it consumes it, so
                // this cannot repeat forever, where a layer's deadline might. The clock is read
                // only while a timeout is pending.
                timer.disarm();
                Wake::Timer
            } else {
                tokio::select! {
                    biased;
                    () = std::future::poll_fn(|cx| timer.poll_fired(cx)) => Wake::Timer,
                    message = mailbox.recv() => Wake::received(message),
                }
            };
            // The event path is awaited in place: no allocation per message. Timers and control
            // messages are rarer, and boxed so that the loop's future (an idle actor's
            // footprint) does not carry their state too.
            let flow = match wake {
                Wake::Disconnected => return StopReason::Disconnected,
                Wake::Timer if self.should_passivate(idle_since, Instant::now()) => {
                    return Box::pin(self.passivate(mailbox)).await;
                }
                Wake::Timer => Box::pin(self.on_timer()).await,
                Wake::Message(message) => match *message {
                    Message::Event(envelope) => self.on_event(envelope, mailbox).await,
                    Message::Control(control) => Box::pin(self.on_control(*control)).await,
                    Message::Shutdown => return StopReason::Shutdown,
                },
            };
            if let Flow::Stop(reason) = flow {
                return reason;
            }
            idle_since = Instant::now();
        }
    }

    /// The soonest of the state timeouts, the durability layer's deadline and the passivation
    /// deadline.
    fn next_timer(&self, idle_since: Instant) -> Option<Instant> {
        [
            self.scope.next_deadline(),
            self.durability.deadline(),
            self.passivation_deadline(idle_since),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    async fn on_timer(&mut self) -> Flow {
        let now = Instant::now();
        if self
            .durability
            .deadline()
            .is_some_and(|deadline| deadline <= now)
        {
            let current = Current {
                id: &self.id,
                state: &self.state,
                version: self.version,
                entered_at: self.entered_at,
            };
            self.durability.wake(current).await;
        }
        let epoch = self.scope.epoch;
        let due = self.scope.take_due(now);
        if due.is_empty() {
            return Flow::Continue;
        }
        let envelopes = due.into_iter().map(|event| Envelope {
            event,
            origin: Origin::Scope(epoch),
        });
        if let Some(rewound) = &mut self.rewound {
            rewound.held.extend(envelopes);
            return Flow::Continue;
        }
        let mut batch = self.take_batch();
        batch.queue.extend(envelopes);
        self.process_batch(batch).await
    }

    /// Gathers the queued events behind `first` into one batch and processes it. A control
    /// message met while gathering is handled right after the batch, preserving order.
    async fn on_event(&mut self, first: Envelope<M>, mailbox: &mut mpsc::Receiver<Msg<M>>) -> Flow {
        if self.rewound.is_some() {
            self.refuse_rewound(first);
            return Flow::Continue;
        }
        let mut batch = self.take_batch();
        batch.queue.push_back(first);
        let mut next_control = None;
        while batch.queue.len() < self.max_batch as usize {
            match mailbox.try_recv() {
                Ok(message) => match *message {
                    Message::Event(envelope) => batch.queue.push_back(envelope),
                    Message::Control(control) => {
                        next_control = Some(control);
                        break;
                    }
                    // The flag it stands for is read before the next message.
                    Message::Shutdown => break,
                },
                Err(_) => break,
            }
        }
        let flow = self.process_batch(batch).await;
        match (flow, next_control) {
            (Flow::Continue, Some(control)) => Box::pin(self.on_control(*control)).await,
            (flow, Some(control)) => {
                self.dismiss(*control);
                flow
            }
            (flow, None) => flow,
        }
    }

    /// Answers a control message that came too late, once the actor is stopping: a wait sees
    /// the state the actor stopped in, a `stop` hears back when the actor has stopped; any
    /// other message is dropped, so its caller gets [`ActorError::Stopped`].
    fn dismiss(&mut self, control: Control<M>) {
        match control {
            Control::WaitFor { predicate, reply } => {
                // Not kept when it goes on waiting: dropping it answers `Stopped`.
                let _ = Waiter::new(predicate, reply).offer(self.visible().0);
            }
            // Heard back once the actor has stopped, like the stop that came first.
            Control::Stop(reply) => {
                self.stop_reply.get_or_insert(reply);
            }
            _ => {}
        }
    }

    async fn finish(&mut self, reason: &StopReason) {
        self.scope.cancel();
        for task in self.background.drain(..) {
            task.abort();
        }
        let current = Current {
            id: &self.id,
            state: &self.state,
            version: self.version,
            entered_at: self.entered_at,
        };
        self.durability.stopped(current, reason).await;
        // Subscribers see their streams end; waiters get `Stopped`.
        self.watchers = None;
        tracing::debug!(machine = M::NAME, actor = %self.id, ?reason, "actor stopped");
        self.observe(RecordKind::Stopped { reason });
    }
}
