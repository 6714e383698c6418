//! Streams of an actor's states and transitions.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::model::Machine;

/// One committed transition, as seen by [`ActorRef::transitions`](super::ActorRef::transitions).
#[derive(Clone, Debug)]
pub struct Transition<M: Machine> {
    /// The state before.
    pub from: M,
    /// The accepted event.
    pub event: M::Event,
    /// The state after.
    pub to: M,
    /// The actor's version after this event.
    pub version: u64,
}

/// A broadcast receiver as a stream that counts, rather than yields, the items it missed.
struct Lossy<T> {
    inner: BroadcastStream<T>,
    skipped: u64,
}

impl<T: Clone + Send + 'static> Lossy<T> {
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => return Poll::Ready(Some(item)),
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                    tracing::warn!(skipped = n, "a state stream subscriber fell behind");
                    self.skipped += n;
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The states of an actor: the state current when subscribing, then every committed state in
/// order. Ends when the actor stops.
///
/// A subscriber more than the actor's `stream_capacity` states behind skips the oldest ones;
/// [`Changes::skipped`] says how many.
pub struct Changes<M: Machine> {
    first: Option<M>,
    rest: Lossy<M>,
}

impl<M: Machine> Changes<M> {
    pub(crate) fn new(current: M, receiver: tokio::sync::broadcast::Receiver<M>) -> Self {
        Self {
            first: Some(current),
            rest: Lossy {
                inner: BroadcastStream::new(receiver),
                skipped: 0,
            },
        }
    }

    /// How many states this subscriber skipped because it fell behind.
    pub fn skipped(&self) -> u64 {
        self.rest.skipped
    }
}

// Neither stream is self-referential: the pending state lives in an `Option`, the receiver's
// future is boxed inside `BroadcastStream`.
impl<M: Machine> Unpin for Changes<M> {}
impl<M: Machine> Unpin for Transitions<M> {}

impl<M: Machine> Stream for Changes<M> {
    type Item = M;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(first));
        }
        this.rest.poll_item(cx)
    }
}

/// The committed transitions of an actor from the moment of subscribing, in order. Ends when the
/// actor stops. Lagging subscribers skip, as for [`Changes`].
pub struct Transitions<M: Machine> {
    rest: Lossy<Transition<M>>,
}

impl<M: Machine> Transitions<M> {
    pub(crate) fn new(receiver: tokio::sync::broadcast::Receiver<Transition<M>>) -> Self {
        Self {
            rest: Lossy {
                inner: BroadcastStream::new(receiver),
                skipped: 0,
            },
        }
    }

    /// How many transitions this subscriber skipped because it fell behind.
    pub fn skipped(&self) -> u64 {
        self.rest.skipped
    }
}

impl<M: Machine> Stream for Transitions<M> {
    type Item = Transition<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Transition<M>>> {
        self.get_mut().rest.poll_item(cx)
    }
}
