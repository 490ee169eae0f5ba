//! The server's two fixed-size tables: the encKey session cache and the set
//! of refused common keys. Both are allocated in full when the server is
//! made; nothing grows per request. Both evict the least recently used
//! entry when full, and a lookup that hits refreshes its entry.

use alloc::vec;
use alloc::vec::Vec;

use crate::enckey::Session;

/// A cached session: the keyed digest of its RSA ciphertext, the keyed
/// digest of its common key (for refusal), and the session itself.
pub(super) struct CacheEntry {
    pub(super) refusal_tag: u64,
    pub(super) session: Session,
}

/// Sessions by the keyed digest of their RSA ciphertext, in fixed slots.
/// Small (a server keeps a few thousand clients, firmware a handful), so a
/// scan over a dense array of digests is as fast as hashing, and entries
/// never move.
pub(super) struct SessionCache {
    /// 0 marks a free slot; stored digests are never 0.
    tags: Vec<u128>,
    stamps: Vec<u64>,
    entries: Vec<Option<CacheEntry>>,
    len: usize,
    clock: u64,
}

impl SessionCache {
    pub(super) fn new(capacity: usize) -> Self {
        let mut entries = Vec::with_capacity(capacity);
        entries.resize_with(capacity, || None);
        SessionCache {
            tags: vec![0; capacity],
            stamps: vec![0; capacity],
            entries,
            len: 0,
            clock: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn find(&self, tag: u128) -> Option<usize> {
        let tag = nonzero_tag(tag);
        self.tags.iter().position(|&t| t == tag)
    }

    /// The entry for `tag`, refreshed as the most recently used.
    pub(super) fn get(&mut self, tag: u128) -> Option<&CacheEntry> {
        let index = self.find(tag)?;
        self.clock += 1;
        self.stamps[index] = self.clock;
        self.entries[index].as_ref()
    }

    /// Inserts an entry into a free slot, else in place of the least
    /// recently used one (or of the same tag: two threads unwrapped the same
    /// encKey at once).
    pub(super) fn insert(&mut self, tag: u128, entry: CacheEntry) {
        let slot = self.find(tag).or_else(|| {
            (0..self.tags.len()).min_by_key(|&i| if self.tags[i] == 0 { 0 } else { self.stamps[i] })
        });
        let Some(index) = slot else {
            return; // capacity 0: no cache
        };
        if self.tags[index] == 0 {
            self.len += 1;
        }
        self.clock += 1;
        self.tags[index] = nonzero_tag(tag);
        self.stamps[index] = self.clock;
        // The replaced session's Drop wipes its key and IV.
        self.entries[index] = Some(entry);
    }

    /// Removes every entry whose common key has this refusal tag (the same
    /// key may be cached under several RSA ciphertexts).
    pub(super) fn remove_common_key(&mut self, refusal_tag: u64) {
        for index in 0..self.entries.len() {
            let matches = self.entries[index]
                .as_ref()
                .is_some_and(|entry| entry.refusal_tag == refusal_tag);
            if matches {
                self.entries[index] = None;
                self.tags[index] = 0;
                self.len -= 1;
            }
        }
    }
}

fn nonzero_tag(tag: u128) -> u128 {
    if tag == 0 { 1 } else { tag }
}

/// Refused common keys, by a keyed 64-bit digest: an open-addressing hash
/// table (linear probing, at most 7/8 full) of digests and use stamps.
/// 12 bytes per slot: 65,536 refusals take 0.86 MiB. A false match between
/// a fresh key and a refusal has a chance of at most capacity / 2^64.
pub(super) struct RefusalSet {
    /// 0 marks an empty slot; stored digests are never 0.
    tags: Vec<u64>,
    stamps: Vec<u32>,
    len: usize,
    capacity: usize,
    clock: u32,
}

impl RefusalSet {
    /// Slots for `capacity` entries at a load of at most 7/8.
    pub(super) fn slots_for(capacity: usize) -> usize {
        capacity + capacity.div_ceil(7) + 1
    }

    pub(super) fn new(capacity: usize) -> Self {
        let slots = Self::slots_for(capacity);
        RefusalSet {
            tags: vec![0; slots],
            stamps: vec![0; slots],
            len: 0,
            capacity,
            clock: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn home(&self, tag: u64) -> usize {
        // Multiply-shift maps the digest's (uniform) high half onto the slots.
        (((tag >> 32) * self.tags.len() as u64) >> 32) as usize
    }

    fn next(&self, index: usize) -> usize {
        if index + 1 == self.tags.len() {
            0
        } else {
            index + 1
        }
    }

    fn find(&self, tag: u64) -> Option<usize> {
        let mut index = self.home(tag);
        loop {
            match self.tags[index] {
                0 => return None,
                t if t == tag => return Some(index),
                _ => index = self.next(index),
            }
        }
    }

    fn tick(&mut self) -> u32 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    /// Whether `tag` is refused; a hit refreshes it, so a key that is still
    /// being tried stays refused longest.
    pub(super) fn contains(&mut self, tag: u64) -> bool {
        let tag = nonzero(tag);
        match self.find(tag) {
            Some(index) => {
                self.stamps[index] = self.tick();
                true
            }
            None => false,
        }
    }

    /// Refuses `tag`; when full, the least recently used refusal goes.
    pub(super) fn insert(&mut self, tag: u64) {
        let tag = nonzero(tag);
        if self.capacity == 0 {
            return;
        }
        if let Some(index) = self.find(tag) {
            self.stamps[index] = self.tick();
            return;
        }
        if self.len == self.capacity {
            self.remove_oldest();
        }
        let mut index = self.home(tag);
        while self.tags[index] != 0 {
            index = self.next(index);
        }
        self.tags[index] = tag;
        self.stamps[index] = self.tick();
        self.len += 1;
    }

    fn remove_oldest(&mut self) {
        let now = self.clock;
        let oldest = (0..self.tags.len())
            .filter(|&i| self.tags[i] != 0)
            .max_by_key(|&i| now.wrapping_sub(self.stamps[i]));
        if let Some(index) = oldest {
            self.remove_at(index);
        }
    }

    /// Backward-shift deletion: later entries of the probe run move up, so
    /// every remaining entry stays reachable from its home slot.
    fn remove_at(&mut self, mut hole: usize) {
        self.tags[hole] = 0;
        self.len -= 1;
        let mut index = hole;
        loop {
            index = self.next(index);
            let tag = self.tags[index];
            if tag == 0 {
                return;
            }
            let home = self.home(tag);
            // The entry at `index` may fill the hole unless its home lies
            // cyclically within (hole, index].
            let stays = if hole <= index {
                hole < home && home <= index
            } else {
                hole < home || home <= index
            };
            if !stays {
                self.tags[hole] = tag;
                self.stamps[hole] = self.stamps[index];
                self.tags[index] = 0;
                hole = index;
            }
        }
    }
}

fn nonzero(tag: u64) -> u64 {
    if tag == 0 { 1 } else { tag }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enckey::Mode;

    fn session(byte: u8) -> Session {
        Session {
            key: [byte; 16],
            iv: [byte; 16],
            mode: Mode::KeyIv,
        }
    }

    #[test]
    fn cache_evicts_the_least_recently_used() {
        let mut cache = SessionCache::new(2);
        for (tag, byte) in [(1u128, 1u8), (2, 2)] {
            let entry = CacheEntry {
                refusal_tag: u64::from(byte),
                session: session(byte),
            };
            cache.insert(tag, entry);
        }
        assert!(cache.get(1).is_some()); // 1 is now the most recent
        let entry = CacheEntry {
            refusal_tag: 3,
            session: session(3),
        };
        cache.insert(3, entry);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(2).is_none(), "2 was least recently used");
        assert_eq!(cache.get(1).map(|e| e.session.key), Some([1; 16]));
        assert_eq!(cache.get(3).map(|e| e.session.key), Some([3; 16]));
    }

    #[test]
    fn cache_removes_every_entry_of_a_common_key() {
        let mut cache = SessionCache::new(4);
        for tag in 1..=3u128 {
            let refusal_tag = if tag == 2 { 9 } else { 7 };
            let entry = CacheEntry {
                refusal_tag,
                session: session(tag as u8),
            };
            cache.insert(tag, entry);
        }
        cache.remove_common_key(7);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(2).is_some());
    }

    #[test]
    fn refusals_survive_until_capacity_newer_ones_arrive() {
        let mut set = RefusalSet::new(100);
        set.insert(0xdead_beef);
        for tag in 1..=99u64 {
            set.insert(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        assert!(
            set.contains(0xdead_beef),
            "99 newer refusals do not evict it"
        );
        // The lookup refreshed it: 99 more refusals evict only older ones.
        for tag in 100..=198u64 {
            set.insert(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        assert!(set.contains(0xdead_beef));
        for tag in 199..=298u64 {
            set.insert(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        assert!(!set.contains(0xdead_beef), "100 newer refusals evict it");
        assert_eq!(set.len(), 100);
    }

    #[test]
    fn every_refusal_stays_findable_through_evictions() {
        // Many inserts into a small, nearly full table exercise probe runs
        // that wrap around and backward-shift deletion.
        let capacity = 37;
        let mut set = RefusalSet::new(capacity);
        let tag = |i: u64| i.wrapping_mul(0xA076_1D64_78BD_642F) ^ (i << 60);
        for i in 1..=5_000u64 {
            set.insert(tag(i));
            assert!(set.len() <= capacity);
            let newest = i.saturating_sub(capacity as u64 - 1).max(1)..=i;
            for j in newest {
                // Lookups refresh, which keeps the same set newest.
                let found = set.find(nonzero(tag(j))).is_some();
                assert!(found, "refusal {j} lost after inserting {i}");
            }
        }
        assert_eq!(set.len(), capacity);
        assert!(RefusalSet::slots_for(65_536) * 12 <= 1 << 20);
    }

    #[test]
    fn a_full_cache_reuses_the_least_recently_used_slot() {
        let mut cache = SessionCache::new(3);
        for tag in 1..=3u128 {
            let entry = CacheEntry {
                refusal_tag: tag as u64,
                session: session(tag as u8),
            };
            cache.insert(tag, entry);
        }
        cache.remove_common_key(2);
        assert_eq!(cache.len(), 2);
        // The freed slot is used before any entry is evicted.
        let entry = CacheEntry {
            refusal_tag: 4,
            session: session(4),
        };
        cache.insert(4, entry);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(1).is_some() && cache.get(3).is_some() && cache.get(4).is_some());
    }
}
