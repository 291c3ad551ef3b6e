//! The state's index from case number to case ordinal, with each number's hash kept beside it.
//!
//! A [`CaseId`] is shared text (an `Arc<str>`): a map keyed by it hashes and compares a stored key
//! by reading its text through a pointer into a separate allocation, a cache miss per probed key
//! and per key moved when the table grows. A national log files millions of cases, so the index is
//! far larger than the caches and those misses were a visible part of replaying a log. This table
//! keeps a 64-bit hash of each number in its slot: growing it moves slots without reading any text,
//! and a probe reads a stored number's text only when the hashes agree (in practice, only for the
//! number looked up). Lookups stay exact: the text is always compared before a slot answers.
//!
//! The hash is [`foldhash`]'s, seeded at random per index (as the map it replaces was), so case
//! numbers chosen to collide cannot be prepared in advance. The serialized form is the map's: the
//! numbers and their ordinals as a map, so snapshots written before it read as ever.
use crate::ids::CaseId;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// One indexed case: its number's hash, its number and its ordinal.
#[derive(Clone, Debug)]
struct Slot {
    hash: u64,
    id: CaseId,
    ix: usize,
}

/// Case number -> case ordinal, as [`crate::State`] keeps it (see the module documentation).
#[derive(Clone, Debug, Default)]
pub(crate) struct CaseIndex {
    table: HashTable<Slot>,
    hasher: foldhash::fast::RandomState,
}

impl CaseIndex {
    /// The hash of `id` in this index, for [`CaseIndex::get_hashed`] and
    /// [`CaseIndex::insert_new`], when one number is looked up and then inserted.
    pub(crate) fn hash(&self, id: &CaseId) -> u64 {
        self.hasher.hash_one(id.as_str())
    }

    /// The ordinal of case `id`.
    pub(crate) fn get(&self, id: &CaseId) -> Option<&usize> {
        self.get_hashed(self.hash(id), id)
    }

    /// [`CaseIndex::get`], given `hash`, the [`CaseIndex::hash`] of `id`.
    pub(crate) fn get_hashed(&self, hash: u64, id: &CaseId) -> Option<&usize> {
        self.table
            .find(hash, |s| s.hash == hash && s.id == *id)
            .map(|s| &s.ix)
    }

    /// Whether case `id` is indexed.
    pub(crate) fn contains_key(&self, id: &CaseId) -> bool {
        self.get(id).is_some()
    }

    /// Indexes case `id` at `ix`, returning the ordinal it replaced, if any.
    pub(crate) fn insert(&mut self, id: CaseId, ix: usize) -> Option<usize> {
        let hash = self.hash(&id);
        match self
            .table
            .entry(hash, |s| s.hash == hash && s.id == id, |s| s.hash)
        {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                Some(std::mem::replace(&mut o.get_mut().ix, ix))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(Slot { hash, id, ix });
                None
            }
        }
    }

    /// Indexes case `id`, which is not indexed, at `ix`, given `hash`, the [`CaseIndex::hash`] of
    /// `id`: for a number the caller has just looked up and not found, without a second search.
    pub(crate) fn insert_new(&mut self, hash: u64, id: CaseId, ix: usize) {
        debug_assert!(self.get_hashed(hash, &id).is_none());
        self.table
            .insert_unique(hash, Slot { hash, id, ix }, |s| s.hash);
    }

    /// Removes case `id`, returning its ordinal.
    pub(crate) fn remove(&mut self, id: &CaseId) -> Option<usize> {
        let hash = self.hash(id);
        self.table
            .find_entry(hash, |s| s.hash == hash && s.id == *id)
            .ok()
            .map(|o| o.remove().0.ix)
    }

    /// Makes room for `additional` more cases without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional, |s| s.hash);
    }

    /// [`CaseIndex::reserve`], or nothing if the memory is not there.
    pub(crate) fn try_reserve(&mut self, additional: usize) {
        let _ = self.table.try_reserve(additional, |s| s.hash);
    }

    /// How many cases are indexed.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// How many cases the index holds without growing.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.table.capacity()
    }
}

impl std::ops::Index<&CaseId> for CaseIndex {
    type Output = usize;

    fn index(&self, id: &CaseId) -> &usize {
        self.get(id).expect("an indexed case")
    }
}

impl serde::Serialize for CaseIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.table.len()))?;
        for slot in &self.table {
            m.serialize_entry(&slot.id, &slot.ix)?;
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for CaseIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CaseIndex, D::Error> {
        // Read as the map it was written as, so that it accepts exactly what the map did.
        let map = foldhash::HashMap::<CaseId, usize>::deserialize(d)?;
        let mut index = CaseIndex::default();
        index.reserve(map.len());
        for (id, ix) in map {
            let hash = index.hash(&id);
            index.insert_new(hash, id, ix);
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CaseId {
        CaseId::parse(s).expect("a case number")
    }

    #[test]
    fn looks_up_inserts_replaces_and_removes_exactly() {
        let mut x = CaseIndex::default();
        for i in 0..1000 {
            assert_eq!(x.insert(id(&format!("C-{i}")), i), None);
        }
        assert_eq!(x.len(), 1000);
        assert_eq!(x.get(&id("C-17")), Some(&17));
        assert_eq!(x[&id("C-999")], 999);
        assert!(!x.contains_key(&id("C-1000")));
        assert_eq!(x.insert(id("C-17"), 5000), Some(17));
        assert_eq!(x.get(&id("C-17")), Some(&5000));
        assert_eq!(x.remove(&id("C-17")), Some(5000));
        assert_eq!(x.remove(&id("C-17")), None);
        assert!(!x.contains_key(&id("C-17")));
        let h = x.hash(&id("C-17"));
        x.insert_new(h, id("C-17"), 3);
        assert_eq!(x.get_hashed(h, &id("C-17")), Some(&3));
        assert_eq!(x.len(), 1000);
    }

    #[test]
    fn a_reserved_index_takes_its_cases_without_growing() {
        let mut x = CaseIndex::default();
        x.reserve(3000);
        let room = x.capacity();
        assert!(room >= 3000);
        for i in 0..3000 {
            x.insert(id(&format!("C-{i}")), i);
        }
        assert_eq!(x.capacity(), room);
        x.try_reserve(usize::MAX);
        assert_eq!(
            x.capacity(),
            room,
            "a reservation that cannot be met is skipped"
        );
        assert_eq!(x.get(&id("C-2999")), Some(&2999));
    }

    #[test]
    fn serializes_as_the_map_it_replaces() {
        let mut map = foldhash::HashMap::<CaseId, usize>::default();
        let mut x = CaseIndex::default();
        for i in 0..50 {
            map.insert(id(&format!("N-2026-{i:06}")), i * 3);
            x.insert(id(&format!("N-2026-{i:06}")), i * 3);
        }
        // The map's order is its hasher's: compare as values, and the map read back as the index.
        let old = serde_json::to_value(&map).expect("JSON");
        assert_eq!(serde_json::to_value(&x).expect("JSON"), old);
        let read: CaseIndex = serde_json::from_value(old).expect("reads");
        for (k, v) in &map {
            assert_eq!(read.get(k), Some(v));
        }
        assert_eq!(read.len(), map.len());
        // With one entry the order cannot differ: the bytes agree.
        let mut m1 = foldhash::HashMap::<CaseId, usize>::default();
        m1.insert(id("X-1"), 7);
        let mut x1 = CaseIndex::default();
        x1.insert(id("X-1"), 7);
        assert_eq!(
            serde_json::to_string(&x1).expect("JSON"),
            serde_json::to_string(&m1).expect("JSON")
        );
    }
}
