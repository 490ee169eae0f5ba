//! The server's fixed-size tables (the encKey session cache, the failure
//! records of common keys, the failure records of peers): one structure,
//! [`LruTable`], allocated in full when the server is made. Nothing grows
//! per request, and no operation scans: a lookup probes a hash index, and
//! the least recently used entry (the one a full table drops) is the tail
//! of a linked list.

use alloc::vec;
use alloc::vec::Vec;

use crate::enckey::Session;

/// No entry (in the index, and the ends of the list).
const NONE: u32 = u32::MAX;

/// Which of at most `capacity` entries holds a key (a keyed digest, so its
/// low bits are already uniform), and which entry goes when a new key
/// arrives at a full table: the least recently used. Entries are fixed
/// slots; a hash index (linear probing, at most half full) finds them and
/// a doubly linked list orders them by use. Not generic, so that firmware
/// carries one copy of this code for all three tables.
pub(super) struct LruIndex {
    keys: Vec<u64>,
    /// Towards the most recently used entry.
    newer: Vec<u32>,
    /// Towards the least recently used entry; the free list reuses it.
    older: Vec<u32>,
    newest: u32,
    oldest: u32,
    free: u32,
    len: usize,
    /// Entry per slot, `NONE` when empty; a power of two long.
    index: Vec<u32>,
}

impl LruIndex {
    pub(super) fn new(capacity: usize) -> Self {
        let slots = (2 * capacity).next_power_of_two().max(2);
        // Zeroed, then filled: `vec![NONE; n]` and `collect` would link
        // Vec's growth code into firmware.
        let none = |len: usize| {
            let mut list = vec![0; len];
            list.fill(NONE);
            list
        };
        // Every entry starts on the free list, chained through `older`.
        let mut older = vec![0; capacity];
        for (i, next) in older.iter_mut().enumerate() {
            *next = if i + 1 == capacity {
                NONE
            } else {
                i as u32 + 1
            };
        }
        LruIndex {
            keys: vec![0; capacity],
            newer: none(capacity),
            older,
            newest: NONE,
            oldest: NONE,
            free: if capacity == 0 { NONE } else { 0 },
            len: 0,
            index: none(slots),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn home(&self, key: u64) -> usize {
        key as usize & (self.index.len() - 1)
    }

    fn next_slot(&self, slot: usize) -> usize {
        (slot + 1) & (self.index.len() - 1)
    }

    /// The index slot and entry of `key`.
    fn find(&self, key: u64) -> Option<(usize, usize)> {
        let mut slot = self.home(key);
        loop {
            let entry = self.index[slot];
            if entry == NONE {
                return None;
            }
            if self.keys[entry as usize] == key {
                return Some((slot, entry as usize));
            }
            slot = self.next_slot(slot);
        }
    }

    fn unlink(&mut self, entry: usize) {
        let (newer, older) = (self.newer[entry], self.older[entry]);
        match newer {
            NONE => self.newest = older,
            n => self.older[n as usize] = older,
        }
        match older {
            NONE => self.oldest = newer,
            o => self.newer[o as usize] = newer,
        }
    }

    fn push_newest(&mut self, entry: usize) {
        self.newer[entry] = NONE;
        self.older[entry] = self.newest;
        match self.newest {
            NONE => self.oldest = entry as u32,
            n => self.newer[n as usize] = entry as u32,
        }
        self.newest = entry as u32;
    }

    /// The entry of `key`, refreshed as the most recently used.
    pub(super) fn get(&mut self, key: u64) -> Option<usize> {
        let (_, entry) = self.find(key)?;
        self.unlink(entry);
        self.push_newest(entry);
        Some(entry)
    }

    /// The entry of `key` (refreshed), or a new one for it: a free entry,
    /// else the least recently used one's. `true` with a new entry, whose
    /// value the caller resets. `None` only with capacity 0.
    pub(super) fn get_or_insert(&mut self, key: u64) -> Option<(usize, bool)> {
        if let Some(entry) = self.get(key) {
            return Some((entry, false));
        }
        if self.free == NONE {
            match self.oldest {
                NONE => return None,
                oldest => self.remove_entry(oldest as usize),
            }
        }
        let entry = self.free as usize;
        self.free = self.older[entry];
        self.keys[entry] = key;
        let mut slot = self.home(key);
        while self.index[slot] != NONE {
            slot = self.next_slot(slot);
        }
        self.index[slot] = entry as u32;
        self.push_newest(entry);
        self.len += 1;
        Some((entry, true))
    }

    /// Removes `key`: the entry it had.
    pub(super) fn remove(&mut self, key: u64) -> Option<usize> {
        let (_, entry) = self.find(key)?;
        self.remove_entry(entry);
        Some(entry)
    }

    fn remove_entry(&mut self, entry: usize) {
        if let Some((slot, _)) = self.find(self.keys[entry]) {
            self.unindex(slot);
        }
        self.unlink(entry);
        self.older[entry] = self.free;
        self.free = entry as u32;
        self.len -= 1;
    }

    /// Backward-shift deletion: later entries of the probe run move up, so
    /// that every remaining entry stays reachable from its home slot.
    fn unindex(&mut self, mut hole: usize) {
        self.index[hole] = NONE;
        let mut slot = hole;
        loop {
            slot = self.next_slot(slot);
            let entry = self.index[slot];
            if entry == NONE {
                return;
            }
            let home = self.home(self.keys[entry as usize]);
            // The entry may fill the hole unless its home lies cyclically
            // within (hole, slot].
            let stays = if hole <= slot {
                hole < home && home <= slot
            } else {
                hole < home || home <= slot
            };
            if !stays {
                self.index[hole] = entry;
                self.index[slot] = NONE;
                hole = slot;
            }
        }
    }

    /// Every key and entry from the least to the most recently used
    /// (inserting them in this order rebuilds the same order).
    pub(super) fn oldest_first(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        let mut entry = self.oldest;
        core::iter::from_fn(move || {
            if entry == NONE {
                return None;
            }
            let at = entry as usize;
            entry = self.newer[at];
            Some((self.keys[at], at))
        })
    }
}

/// A map of at most `capacity` values by 64-bit key that drops the least
/// recently used one when full: an [`LruIndex`] and the values.
pub(super) struct LruTable<V> {
    index: LruIndex,
    values: Vec<V>,
}

impl<V: Default> LruTable<V> {
    pub(super) fn new(capacity: usize) -> Self {
        let mut values = Vec::with_capacity(capacity);
        for _ in 0..capacity {
            // Always true (`with_capacity` holds at least `capacity`); the
            // check lets the compiler drop `push`'s growth path, which
            // `resize_with` kept and which alone linked `Vec`'s reserve and
            // `realloc` into firmware.
            if values.len() < values.capacity() {
                values.push(V::default());
            }
        }
        LruTable {
            index: LruIndex::new(capacity),
            values,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    /// The value of `key`, refreshed as the most recently used.
    pub(super) fn get(&mut self, key: u64) -> Option<&mut V> {
        let entry = self.index.get(key)?;
        Some(&mut self.values[entry])
    }

    /// The value of `key` (refreshed), or a new default one, in place of
    /// the least recently used value when full. `None` only with capacity 0.
    pub(super) fn get_or_insert(&mut self, key: u64) -> Option<&mut V> {
        let (entry, fresh) = self.index.get_or_insert(key)?;
        if fresh {
            // Dropping the value it replaces wipes a cached session's key.
            self.values[entry] = V::default();
        }
        Some(&mut self.values[entry])
    }

    /// Sets `key` to `value` as the most recently used entry.
    pub(super) fn insert(&mut self, key: u64, value: V) {
        if let Some(slot) = self.get_or_insert(key) {
            *slot = value;
        }
    }

    /// Removes `key`; its value is dropped (a session wiped).
    pub(super) fn remove(&mut self, key: u64) {
        if let Some(entry) = self.index.remove(key) {
            self.values[entry] = V::default();
        }
    }

    /// Every key and value from the least to the most recently used.
    pub(super) fn oldest_first(&self) -> impl Iterator<Item = (u64, &V)> + '_ {
        self.index
            .oldest_first()
            .map(|(key, entry)| (key, &self.values[entry]))
    }
}

/// A cached session: the high half of its RSA ciphertext's 128-bit keyed
/// digest (the low half is the table's key), the keyed digest of its
/// common key (for the key's failure record) and the session itself.
#[derive(Default)]
pub(super) struct CacheEntry {
    pub(super) tag_high: u64,
    pub(super) key_tag: u64,
    /// `None` only in a free slot.
    pub(super) session: Option<Session>,
}

/// Sessions by the keyed digest of their RSA ciphertext: 128 bits, of
/// which the low 64 index the table and the high 64 are checked on a hit.
pub(super) struct SessionCache {
    table: LruTable<CacheEntry>,
}

impl SessionCache {
    pub(super) fn new(capacity: usize) -> Self {
        SessionCache {
            table: LruTable::new(capacity),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// The cached entry of this ciphertext tag, refreshed.
    pub(super) fn get(&mut self, tag: u128) -> Option<&CacheEntry> {
        let entry = self.table.get(tag as u64)?;
        (entry.tag_high == (tag >> 64) as u64).then_some(&*entry)
    }

    pub(super) fn insert(&mut self, tag: u128, key_tag: u64, session: Session) {
        let entry = CacheEntry {
            tag_high: (tag >> 64) as u64,
            key_tag,
            session: Some(session),
        };
        self.table.insert(tag as u64, entry);
    }

    pub(super) fn remove(&mut self, tag: u128) {
        if self.get(tag).is_some() {
            self.table.remove(tag as u64);
        }
    }
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

    fn key(cache: &mut SessionCache, tag: u128) -> Option<[u8; 16]> {
        Some(cache.get(tag)?.session.as_ref()?.key)
    }

    #[test]
    fn a_full_table_drops_the_least_recently_used_entry() {
        let mut cache = SessionCache::new(2);
        cache.insert(1, 1, session(1));
        cache.insert(2, 2, session(2));
        assert!(cache.get(1).is_some()); // 1 is now the most recent
        cache.insert(3, 3, session(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(2).is_none(), "2 was least recently used");
        assert_eq!(key(&mut cache, 1), Some([1; 16]));
        assert_eq!(key(&mut cache, 3), Some([3; 16]));
        // The high half of the tag is checked: another tag with the same
        // low half is no hit.
        assert!(cache.get(3 | 1 << 64).is_none());
    }

    #[test]
    fn a_removed_slot_is_used_before_anything_is_dropped() {
        let mut cache = SessionCache::new(3);
        for tag in 1..=3u8 {
            cache.insert(u128::from(tag), 0, session(tag));
        }
        cache.remove(2);
        assert_eq!(cache.len(), 2);
        cache.insert(4, 0, session(4));
        assert_eq!(cache.len(), 3);
        for tag in [1, 3, 4] {
            assert!(cache.get(tag).is_some(), "{tag}");
        }
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut table = LruTable::<u32>::new(0);
        assert!(table.get_or_insert(5).is_none());
        table.insert(5, 1);
        assert_eq!(table.len(), 0);
        assert!(table.get(5).is_none());
    }

    /// Against a reference model (a vector ordered by use), through many
    /// inserts, lookups and removals of colliding keys in a small table:
    /// probe runs that wrap around and backward-shift deletion.
    #[test]
    fn matches_a_reference_lru_through_random_operations() {
        let capacity = 37;
        let mut table = LruTable::<u64>::new(capacity);
        let mut model: Vec<(u64, u64)> = Vec::new(); // oldest first
        let mut rng = crate::compact::rsa::tests::TestRng(0x2545_F491_4F6C_DD1D);
        let mut next = move || rand_core::TryRng::try_next_u64(&mut rng).unwrap_or_default();
        for step in 0..20_000u64 {
            // Keys share low bits often, so that probe runs collide.
            let key = (next() % 64) << 58 | (next() % 8);
            match next() % 4 {
                0 | 1 => {
                    table.insert(key, step);
                    model.retain(|(k, _)| *k != key);
                    if model.len() == capacity {
                        model.remove(0);
                    }
                    model.push((key, step));
                }
                2 => {
                    let got = table.get(key).map(|v| *v);
                    let at = model.iter().position(|(k, _)| *k == key);
                    assert_eq!(got, at.map(|i| model[i].1), "step {step}");
                    if let Some(i) = at {
                        let hit = model.remove(i);
                        model.push(hit);
                    }
                }
                _ => {
                    table.remove(key);
                    model.retain(|(k, _)| *k != key);
                }
            }
            assert_eq!(table.len(), model.len());
        }
        let order: Vec<(u64, u64)> = table.oldest_first().map(|(k, v)| (k, *v)).collect();
        assert_eq!(order, model);
    }
}
