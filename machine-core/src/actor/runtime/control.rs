//! Control messages: state queries, subscriptions, rewind/resume, stop.

use tokio::sync::broadcast;

use super::{Actor, Flow, Rewound};
use crate::actor::durability::Durability;
use crate::actor::mailbox::{Control, View};
use crate::actor::StopReason;
use crate::model::Machine;

impl<M: Machine, D: Durability<M>> Actor<M, D> {
    /// The state as callers see it: the rewound one while rewound.
    fn visible(&self) -> (&M, u64) {
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
            Control::SubscribeChanges(reply) => {
                let capacity = self.stream_capacity as usize;
                let receiver = self
                    .changes
                    .get_or_insert_with(|| broadcast::channel(capacity).0)
                    .subscribe();
                let _ = reply.send((self.visible().0.clone(), receiver));
            }
            Control::SubscribeTransitions(reply) => {
                let capacity = self.stream_capacity as usize;
                let receiver = self
                    .transitions
                    .get_or_insert_with(|| broadcast::channel(capacity).0)
                    .subscribe();
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
                        self.buffers.envelopes.extend(rewound.held);
                        return self.process_batch().await;
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
