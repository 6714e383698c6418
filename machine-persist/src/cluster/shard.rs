//! Which shard an actor belongs to.
//!
//! The hash is FNV-1a over the id's bytes: fixed by this crate, not by the standard library's
//! hasher (whose output may change between Rust releases), because every node of every version
//! must map an id to the same shard.

use crate::model::fnv1a;

/// The shard of actor `id` among `shards` (at least 1).
///
/// ```
/// use machine_persist::cluster::shard_of;
/// assert_eq!(shard_of("order-1", 64), shard_of("order-1", 64));
/// assert!(shard_of("order-1", 64) < 64);
/// assert_eq!(shard_of("anything", 1), 0);
/// ```
pub fn shard_of(id: &str, shards: u32) -> u32 {
    // The remainder is below `shards`, a u32.
    u32::try_from(fnv1a(id.as_bytes()) % u64::from(shards.max(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_is_fixed_and_spreads_ids() {
        // Fixed values: a change here would move every stored actor to another shard.
        assert_eq!(shard_of("", 1024), (0xcbf2_9ce4_8422_2325u64 % 1024) as u32);
        assert_eq!(
            shard_of("a", 1 << 31),
            (0xaf63_dc4c_8601_ec8cu64 % (1 << 31)) as u32
        );
        let mut counts = [0usize; 8];
        for n in 0..8_000 {
            counts[shard_of(&format!("order-{n}"), 8) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (800..1_200).contains(&count)),
            "{counts:?}"
        );
        assert_eq!(shard_of("x", 0), 0);
    }
}
