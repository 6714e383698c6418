//! [`DispatchConfig`]: how a system's dispatcher claims and runs durable actions.

use std::sync::Arc;
use std::time::Duration;

/// The settings of a persistent system's durable-action dispatcher
/// ([`SystemBuilder::dispatch`](crate::SystemBuilder::dispatch)).
///
/// * `lease`: how long a claim keeps other dispatchers off an action. An action claimed by a
///   dispatcher that died is taken over by another once its lease ends, so this bounds the
///   delay of recovery (default 30 s).
/// * `attempt_timeout`: the longest one attempt may run; a longer one is cancelled and counts
///   as failed. Kept below the lease, so an attempt always ends while its claim holds: no two
///   dispatchers ever run one action at the same time (default 10 s).
/// * `poll_interval`: how often the store is asked for actions whose claim ended (default 1 s).
/// * `claim_batch`: the most actions claimed per poll (default 64).
/// * `owner`: the dispatcher's name in claims, unique among the processes sharing a store
///   (default: random per system). A process restarted under the same name takes its own
///   claims back at once instead of waiting for their leases to end.
///
/// ```
/// use std::time::Duration;
/// use machine_persist::dispatch::DispatchConfig;
///
/// let config = DispatchConfig::default()
///     .owner("billing-1")
///     .lease(Duration::from_secs(60))
///     .attempt_timeout(Duration::from_secs(20));
/// assert_eq!(config.owner_name(), "billing-1");
/// ```
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    pub(crate) owner: Arc<str>,
    pub(crate) lease: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) claim_batch: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            owner: format!("dispatcher-{:016x}", fastrand::u64(..)).into(),
            lease: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            claim_batch: 64,
        }
    }
}

impl DispatchConfig {
    /// The dispatcher's name in claims (unique among live processes on one store).
    pub fn owner(mut self, owner: impl Into<Arc<str>>) -> Self {
        self.owner = owner.into();
        self
    }

    /// How long a claim lasts (at least twice the attempt timeout; raised to that).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The longest one attempt may run.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How often the store is polled for actions whose claim ended.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The most actions claimed per poll (at least 1).
    pub fn claim_batch(mut self, batch: usize) -> Self {
        self.claim_batch = batch.max(1);
        self
    }

    /// The dispatcher's name in claims.
    pub fn owner_name(&self) -> &str {
        &self.owner
    }

    /// The lease actually used: at least twice the attempt timeout.
    pub(crate) fn effective_lease(&self) -> Duration {
        self.lease.max(self.attempt_timeout.saturating_mul(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlasts_two_attempts() {
        let config = DispatchConfig::default()
            .lease(Duration::from_secs(1))
            .attempt_timeout(Duration::from_secs(3));
        assert_eq!(config.effective_lease(), Duration::from_secs(6));
        assert_ne!(
            DispatchConfig::default().owner_name(),
            DispatchConfig::default().owner_name()
        );
    }
}
