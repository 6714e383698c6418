//! Which shard an actor belongs to.
//!
//! The hash is FNV-1a over the id's bytes: fixed by this crate, not by the standard library's
//! hasher (whose output may change between Rust releases), because every node of every version
//! must map an id to the same shard.

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
    u32::try_from(fnv1a(id) % u64::from(shards.max(1))).unwrap_or(0)
}

/// The 64-bit FNV-1a hash of `text`'s bytes.
pub(crate) fn fnv1a(text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
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
