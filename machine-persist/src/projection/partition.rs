//! [`Partition`]: one of K workers of a projection, owning a hash range of actor ids.
//!
//! A projection too slow for one worker runs as K runners, each configured with
//! [`ProjectionRunner::partition`](super::ProjectionRunner::partition). Worker `i` of `K` owns
//! the actors whose id hashes into the `i`-th of K equal ranges of the 64-bit hash space, so an
//! actor's events all go to one worker, in version order; the workers progress independently,
//! each with its own checkpoint (the projection's name with `/i-of-K` appended). Each worker
//! reads the whole stream and skips the other workers' events, so K workers read K times what
//! one does: partition for slow handlers, not for slow reads.
//!
//! The hash is FNV-1a over the id's bytes, mixed by MurmurHash3's 64-bit finalizer (so the
//! high bits that pick the range depend on every byte): stable across processes, platforms and
//! releases.
//! Changing K moves actors between workers; rebuild the projection when you do.

use std::fmt;

use crate::model::fnv1a;
use crate::ActorId;

/// Worker `index` of `of`: the actors whose id hashes into the `index`-th of `of` equal ranges, so
/// all of an actor's events go to one worker, in version order. Each worker keeps its own
/// checkpoint and reads the whole stream; changing `of` moves actors, so rebuild then.
///
/// ```
/// use machine_persist::projection::Partition;
///
/// let workers: Vec<Partition> = (0..4).map(|i| Partition::new(i, 4).unwrap()).collect();
/// let id = "order-17".into();
/// assert_eq!(workers.iter().filter(|worker| worker.owns(&id)).count(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    index: usize,
    of: usize,
}

impl Partition {
    /// Worker `index` of `of`; `None` unless `index < of`.
    pub fn new(index: usize, of: usize) -> Option<Self> {
        (index < of).then_some(Self { index, of })
    }

    /// The worker's index.
    pub fn index(self) -> usize {
        self.index
    }

    /// How many workers there are.
    pub fn of(self) -> usize {
        self.of
    }

    /// Whether this worker owns `actor_id`'s events.
    pub fn owns(self, actor_id: &ActorId) -> bool {
        range_of(mix(fnv1a(actor_id.as_str().as_bytes())), self.of) == self.index
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-of-{}", self.index, self.of)
    }
}

/// MurmurHash3's `fmix64`: every input bit affects every output bit.
fn mix(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Which of `of` equal ranges of the hash space `hash` falls in.
fn range_of(hash: u64, of: usize) -> usize {
    let of = u128::try_from(of).unwrap_or(u128::MAX);
    usize::try_from((u128::from(hash) * of) >> 64).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_actor_has_exactly_one_owner_and_ranges_are_balanced() {
        let workers: Vec<Partition> = (0..4).map(|i| Partition::new(i, 4).unwrap()).collect();
        let mut load = [0usize; 4];
        for n in 0..4_000 {
            let id = ActorId::from(format!("order-{n}"));
            let owners: Vec<usize> = workers
                .iter()
                .filter(|worker| worker.owns(&id))
                .map(|worker| worker.index())
                .collect();
            assert_eq!(owners.len(), 1, "{id}");
            load[owners[0]] += 1;
        }
        assert!(load.iter().all(|&n| (800..1_200).contains(&n)), "{load:?}");
        assert_eq!(Partition::new(4, 4), None);
        assert_eq!(Partition::new(1, 3).unwrap().to_string(), "1-of-3");
    }

    #[test]
    fn the_hash_is_fnv_1a_then_fmix64() {
        // Published FNV-1a test vectors: stable across releases and platforms.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(mix(0), 0);
        assert_ne!(mix(1), 1);
        assert_eq!(range_of(u64::MAX, 4), 3);
        assert_eq!(range_of(0, 4), 0);
    }
}
