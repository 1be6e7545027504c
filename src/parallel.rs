//! Work split into parts, one per core.

/// `f` on consecutive parts of `items`, one per core, side by side; each call gets the index of
/// its part's first item. The results come back in the items' order. A panic in a part is the
/// caller's panic.
pub fn in_parts<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(usize, &'a [T]) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    in_runs(items, items.len().div_ceil(cores), f)
}

/// `in_parts` with parts of `size` items (the last may be shorter), each on a thread of its own.
pub fn in_runs<'a, T: Sync, R: Send>(items: &'a [T], size: usize, f: impl Fn(usize, &'a [T]) -> R + Sync) -> Vec<R> {
    let size = size.max(1);
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> =
            items.chunks(size).enumerate().map(|(k, part)| s.spawn(move || f(k * size, part))).collect();
        parts.into_iter().map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_items_in_order_and_know_where_they_start() {
        for len in [0, 1, 7, 1000] {
            let items: Vec<usize> = (0..len).collect();
            let parts = in_parts(&items, |first, part| (first, part.to_vec()));
            assert!(parts.iter().all(|(first, part)| part.first().is_none_or(|&x| x == *first)));
            let all: Vec<usize> = parts.into_iter().flat_map(|(_, part)| part).collect();
            assert_eq!(all, items);
        }
        let items: Vec<usize> = (0..7).collect();
        assert_eq!(in_runs(&items, 3, |first, part| (first, part.len())), [(0, 3), (3, 3), (6, 1)]);
    }
}
