//! One stable sort for every list the core orders.
//!
//! The standard library's stable sort is compiled again for each item type and comparison,
//! 2-4 KB of wasm each time. [`sort_stable_by`] sorts a list of positions instead, through a
//! comparison behind a reference, so one copy of the sort serves every caller; the lists it
//! orders (assets, movers, history points, tickers' books) are at most a few thousand items long.
//!
//! The core keeps its maps as sorted vectors (litemap) for the same reason: a tree map is
//! compiled again for every key and value type. A map read from input of any length is built
//! with [`map_from_pairs`], which sorts once, since inserting one key at a time moves the entries
//! after it each time, quadratic in the number of keys; litemap's own `extend` and `collect`
//! would compile the standard sort once more.

use std::cmp::Ordering;

use litemap::LiteMap;

/// Sorts `items` by `compare`, keeping equal items in their order, like `slice::sort_by`.
pub fn sort_stable_by<T>(items: &mut Vec<T>, compare: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_order(items, compare);
    let mut slots: Vec<Option<T>> = Vec::with_capacity(items.len());
    slots.extend(items.drain(..).map(Some));
    items.extend(order.into_iter().filter_map(|at| slots.get_mut(at).and_then(Option::take)));
}

/// The positions of `items` in the order `compare` puts them, equal items in position order:
/// sorting without moving the items.
pub fn sorted_order<T>(items: &[T], compare: impl Fn(&T, &T) -> Ordering) -> Vec<usize> {
    sorted_positions(items.len(), &|a, b| match (items.get(a), items.get(b)) {
        (Some(a), Some(b)) => compare(a, b),
        _ => Ordering::Equal,
    })
}

/// A map of `pairs`; for a key given twice the later value wins, as when inserting one by one.
pub fn map_from_pairs<K: Ord, V>(mut pairs: Vec<(K, V)>) -> LiteMap<K, V> {
    sort_stable_by(&mut pairs, |a, b| a.0.cmp(&b.0));
    let mut unique: Vec<(K, V)> = Vec::with_capacity(pairs.len());
    for pair in pairs {
        match unique.last_mut() {
            Some(last) if last.0 == pair.0 => *last = pair,
            _ => unique.push(pair),
        }
    }
    LiteMap::from_sorted_store_unchecked(unique)
}

/// The positions `0..len` in the order `compare` puts the items at them, ties in position order.
#[inline(never)]
fn sorted_positions(len: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order = Vec::with_capacity(len);
    order.extend(0..len);
    order.sort_by(|&a, &b| compare(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_and_keeps_ties_in_order() {
        let mut rows = vec![("b", 1), ("a", 2), ("b", 0), ("a", 1), ("c", 5)];
        sort_stable_by(&mut rows, |x, y| x.0.cmp(y.0));
        assert_eq!(rows, [("a", 2), ("a", 1), ("b", 1), ("b", 0), ("c", 5)]);
    }

    #[test]
    fn empty_and_single_lists_stay_as_they_are() {
        let mut none: Vec<String> = Vec::new();
        sort_stable_by(&mut none, |a, b| a.cmp(b));
        assert!(none.is_empty());
        let mut one = vec![String::from("btc")];
        sort_stable_by(&mut one, |a, b| a.cmp(b));
        assert_eq!(one, ["btc"]);
    }

    proptest! {
        #[test]
        fn a_map_from_pairs_holds_what_inserting_one_by_one_holds(pairs in proptest::collection::vec((0u8..16, any::<u32>()), 0..200)) {
            let mut inserted = std::collections::BTreeMap::new();
            for &(key, value) in &pairs {
                inserted.insert(key, value);
            }
            let map = map_from_pairs(pairs);
            prop_assert!(map.iter().map(|(k, v)| (*k, *v)).eq(inserted.into_iter()));
        }

        #[test]
        fn agrees_with_the_standard_stable_sort(keys in proptest::collection::vec((0u8..8, any::<u32>()), 0..200)) {
            let mut expected = keys.clone();
            expected.sort_by_key(|item| item.0);
            let mut sorted = keys;
            sort_stable_by(&mut sorted, |a, b| a.0.cmp(&b.0));
            prop_assert_eq!(sorted, expected);
        }
    }
}
