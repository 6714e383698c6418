//! Control messages: state queries, subscriptions, waits, rewind/resume, stop.

use super::watch::Waiter;
use super::{Actor, Flow, Rewound};
use crate::actor::durability::Durability;
use crate::actor::mailbox::{Control, View};
use crate::actor::StopReason;
use crate::model::Machine;

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    /// The state as callers see it: the rewound one while rewound.
    pub(super) fn visible(&self) -> (&M, u64) {
        match &self.rewound {
            Some(rewound) => (&rewound.state, rewound.version),
            None => (&self.state, self.version),
        }
    }

    pub(super) async fn on_control(&mut self, control: Control<M>) -> Flow {
        match control {
            Control::Snapshot(reply) => {
                let (state, version) = self.visible();
                let _ = reply.send(View {
                    state: state.clone(),
                    version,
                    head: self.version,
                    entered_at: self.entered_at,
                });
            }
            Control::WaitFor { predicate, reply } => {
                if let Some(waiter) = Waiter::new(predicate, reply).offer(self.visible().0) {
                    self.watchers().wait(waiter);
                }
            }
            Control::SubscribeChanges(reply) => {
                let capacity = self.stream_capacity as usize;
                let receiver = self.watchers().subscribe_changes(capacity);
                let _ = reply.send((self.visible().0.clone(), receiver));
            }
            Control::SubscribeTransitions(reply) => {
                let capacity = self.stream_capacity as usize;
                let receiver = self.watchers().subscribe_transitions(capacity);
                let _ = reply.send(receiver);
            }
            Control::Rewind {
                state,
                version,
                reply,
            } => {
                let held = self.rewound.take().map(|r| r.held).unwrap_or_default();
                self.rewound = Some(Box::new(Rewound {
                    state,
                    version,
                    held,
                }));
                let _ = reply.send(());
            }
            Control::Resume(reply) => {
                let _ = reply.send(());
                if let Some(rewound) = self.rewound.take() {
                    if !rewound.held.is_empty() {
                        let mut batch = self.take_batch();
                        batch.queue.extend(rewound.held);
                        return self.process_batch(batch).await;
                    }
                }
            }
            Control::Stop(reply) => {
                self.stop_reply = Some(reply);
                return Flow::Stop(StopReason::Requested);
            }
        }
        Flow::Continue
    }
}
