//! Records by the hash of their id: how repeated ids are found at load, and how the search index
//! finds a record by id.
//!
//! A sorted list of hashes rather than a map: hashing reads every record's id, wherever it lies in
//! memory, and is done on every core, as is most of the sorting that then puts equal ids side by
//! side. Filling a map of a million ids took longer on one core, in twice the memory.

use std::hash::BuildHasher;

/// Each record's id hash and place, sorted: records with the same id are side by side, in the
/// records' order.
#[derive(Debug, Clone, Default)]
pub struct IdHashes(Vec<(u64, u32)>);

fn hash(id: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(id)
}

impl IdHashes {
    /// The hashes of the ids of `records`, read by `id`.
    pub fn of<T: Sync>(records: &[T], id: impl Fn(&T) -> &str + Sync) -> Self {
        // Each part is sorted on its own core; the stable sort then merges the sorted runs it finds.
        // Entries are all different (each has its own place), so either sort orders them alike.
        let mut hashed: Vec<(u64, u32)> = crate::parallel::in_parts(records, |first, part| {
            let mut hashed: Vec<_> = part.iter().enumerate().map(|(n, r)| (hash(id(r)), (first + n) as u32)).collect();
            hashed.sort_unstable();
            hashed
        })
        .concat();
        hashed.sort();
        Self(hashed)
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs of records whose ids share a hash, each in the records' order: the only records that
    /// can share an id.
    pub fn shared(&self) -> impl Iterator<Item = impl Iterator<Item = u32> + '_> {
        self.0.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1).map(|run| run.iter().map(|&(_, n)| n))
    }

    /// The records that may have this id, in the records' order: those whose id has its hash.
    pub fn candidates(&self, id: &str) -> impl Iterator<Item = u32> + '_ {
        let h = hash(id);
        let from = self.0.partition_point(|&(x, _)| x < h);
        self.0[from..].iter().take_while(move |&&(x, _)| x == h).map(|&(_, n)| n)
    }

    /// The first of `records` (those the hashes were made of, read by `id_of`) whose id is `id`.
    pub fn find<T>(&self, records: &[T], id_of: impl Fn(&T) -> &str, id: &str) -> Option<u32> {
        self.candidates(id).find(|&n| records.get(n as usize).is_some_and(|r| id_of(r) == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_one_id_are_found_together_in_order() {
        let ids = ["b", "a", "c", "a", "b", "a"];
        let hashes = IdHashes::of(&ids, |s| s);
        let mut shared: Vec<Vec<u32>> = hashes.shared().map(Iterator::collect).collect();
        shared.sort();
        assert_eq!(shared, [vec![0, 4], vec![1, 3, 5]]);
        assert_eq!(hashes.candidates("a").collect::<Vec<_>>(), [1, 3, 5]);
        assert_eq!(hashes.candidates("c").collect::<Vec<_>>(), [2]);
        assert_eq!(hashes.candidates("d").count(), 0);
        assert_eq!(hashes.find(&ids, |s| s, "a"), Some(1));
        assert_eq!(hashes.find(&ids, |s| s, "c"), Some(2));
        assert_eq!(hashes.find(&ids, |s| s, "d"), None);
        // Hashes of other records: a place past their end, or another id there, finds nothing.
        assert_eq!(hashes.find(&ids[..1], |s| s, "a"), None);
    }
}
