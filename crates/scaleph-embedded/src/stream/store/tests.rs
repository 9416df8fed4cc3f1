use super::*;
use datafusion::arrow::array::{Float64Array, Int64Array};
use datafusion::arrow::compute::concat;

/// A deterministic pseudo-random sequence (64-bit LCG, Knuth's MMIX constants).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    /// The next value (31 bits).
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn types() -> Vec<DataType> {
    vec![
        DataType::Int64,
        DataType::Utf8,
        DataType::Utf8,
        DataType::Float64,
    ]
}

/// `n` rows: an id (some NULL), a low-cardinality string (some NULL), a unique string, a
/// float.
fn rows(rng: &mut Lcg, from: usize, n: usize) -> Vec<ArrayRef> {
    let ids: Int64Array = (from..from + n)
        .map(|i| (i % 11 != 5).then_some(i as i64))
        .collect();
    let low: StringArray = (0..n)
        .map(|_| {
            let v = rng.next() % 21;
            (v != 20).then(|| format!("https://example.com/channel/{v}/item.htm"))
        })
        .collect();
    let high: StringArray = (from..from + n)
        .map(|i| Some(format!("extra-{i}-{}", rng.next())))
        .collect();
    let f: Float64Array = (0..n).map(|_| Some(rng.next() as f64 / 7.0)).collect();
    vec![Arc::new(ids), Arc::new(low), Arc::new(high), Arc::new(f)]
}

/// Appends ~20 000 rows in batches of varied sizes (some slices of larger batches); returns
/// the store and every appended row, concatenated.
fn filled() -> (RowStore, Vec<ArrayRef>) {
    let mut rng = Lcg(7);
    let mut store = RowStore::new(types());
    let mut all: Vec<Vec<ArrayRef>> = Vec::new();
    let mut at = 0;
    for size in [1, 3, 70, 5000, 1, 1, 2, 9000, 17, 4096, 1, 600, 1200] {
        let cols = if size == 70 || size == 1200 {
            // A slice of a batch 10 times larger.
            rows(&mut rng, at, size * 10)
                .into_iter()
                .map(|c| c.slice(size, size))
                .collect()
        } else {
            rows(&mut rng, at, size)
        };
        let first = store.append(cols.clone(), size).unwrap();
        assert_eq!(first as usize, at);
        at += size;
        all.push(cols);
    }
    (store, joined(&all))
}

/// Batches of columns, concatenated column by column.
fn joined(batches: &[Vec<ArrayRef>]) -> Vec<ArrayRef> {
    (0..types().len())
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b[c].as_ref()).collect();
            concat(&arrays).unwrap()
        })
        .collect()
}

fn reference(all: &[ArrayRef], ids: &[u32]) -> Vec<ArrayRef> {
    let idx = UInt32Array::from(ids.to_vec());
    all.iter()
        .map(|c| take(c.as_ref(), &idx, None).unwrap())
        .collect()
}

#[test]
fn take_returns_the_appended_rows() {
    let (store, all) = filled();
    let n = all[0].len() as u32;
    assert_eq!(store.len(), n as usize);
    // The low-cardinality column is dictionary-encoded in some part, the unique one in none.
    let keyed = |c: usize| {
        store
            .parts
            .iter()
            .any(|p| matches!(&p.cols[c], Column::Plain(a) if a.data_type() == &DataType::UInt32))
    };
    assert!(keyed(1));
    assert!(!keyed(2));
    let mut rng = Lcg(3);
    let ids: Vec<u32> = (0..5000).map(|_| (rng.next() % n as u64) as u32).collect();
    assert_eq!(store.take(&ids).unwrap(), reference(&all, &ids));
    let every: Vec<u32> = (0..n).collect();
    assert_eq!(store.take(&every).unwrap(), all);
    assert!(store.take(&[]).unwrap().iter().all(|c| c.is_empty()));
    // Encoding saves memory: the store holds less than the plain rows.
    let plain: usize = all.iter().map(|c| c.get_array_memory_size()).sum();
    assert!(store.bytes() < plain, "{} >= {plain}", store.bytes());
}

#[test]
fn compaction_keeps_live_rows_under_new_ids() {
    let (mut store, all) = filled();
    let n = all[0].len() as u32;
    for id in 0..n {
        if id % 3 != 0 {
            store.remove(id);
        }
    }
    store.remove(1); // twice: no effect
    assert_eq!(store.len(), n.div_ceil(3) as usize);
    assert!(store.needs_compaction());
    // Kept in reverse order.
    let old: Vec<u32> = (0..n).filter(|i| i % 3 == 0).rev().collect();
    let mut ids = old.clone();
    let mut refs: Vec<&mut u32> = ids.iter_mut().collect();
    store.compact(&mut refs).unwrap();
    // Rows keep their relative order: the last of `old` (the smallest id) is now 0.
    assert_eq!(ids, (0..old.len() as u32).rev().collect::<Vec<_>>());
    assert_eq!(store.len(), old.len());
    assert!(!store.needs_compaction());
    assert_eq!(store.take(&ids).unwrap(), reference(&all, &old));
}

#[test]
fn hashes_and_equality_match_the_rows() {
    let (mut store, all) = filled();
    let n = all[0].len();
    let expected = store.hash_rows(&all, n).unwrap();
    store.ensure_hashes().unwrap();
    for id in [0, 1, 5, 4095, 4096, 10_000, n as u32 - 1] {
        assert_eq!(store.hash(id), Some(expected[id as usize]));
        assert!(store.equals(id, &all, id as usize).unwrap());
        assert!(!store.equals(id, &all, (id as usize + 1) % n).unwrap());
    }
    // Rows appended after hashing get theirs too; a row with NULLs equals itself.
    let mut rng = Lcg(11);
    let more = rows(&mut rng, 5, 1);
    let id = store.append(more.clone(), 1).unwrap();
    assert_eq!(store.hash(id), Some(store.hash_rows(&more, 1).unwrap()[0]));
    assert!(store.equals(id, &more, 0).unwrap());
    // Hashes survive compaction.
    for i in 1..n as u32 {
        store.remove(i);
    }
    let mut ids = [0, id];
    let mut refs: Vec<&mut u32> = ids.iter_mut().collect();
    store.compact(&mut refs).unwrap();
    assert_eq!(
        store.hash(ids[1]),
        Some(store.hash_rows(&more, 1).unwrap()[0])
    );
    assert_eq!(store.hash(ids[0]), Some(expected[0]));
}

/// A store packing from its first byte, cold after 2 seals, filled with 40 batches of 3 000
/// rows; and every row.
fn packed() -> (RowStore, Vec<ArrayRef>) {
    let mut rng = Lcg(11);
    let mut store = RowStore::new(types()).packing(0, 2);
    let mut all: Vec<Vec<ArrayRef>> = Vec::new();
    for b in 0..40 {
        let cols = rows(&mut rng, b * 3000, 3000);
        store.append(cols.clone(), 3000).unwrap();
        all.push(cols);
    }
    (store, joined(&all))
}

fn packed_parts(store: &RowStore) -> Vec<u32> {
    store
        .parts
        .iter()
        .filter(|p| p.packed())
        .map(|p| p.start)
        .collect()
}

#[test]
fn cold_parts_are_packed_and_read_back() {
    let (mut store, all) = packed();
    let n = all[0].len() as u32;
    let packed = packed_parts(&store);
    // 40 batches seal 20 parts; all but the last 2 sealed and the unsealed tail are cold.
    assert_eq!(packed.len(), 18, "{packed:?}");
    // Only the unique strings are packed: the low-cardinality ones are dictionary keys.
    let part = store.parts.iter().find(|p| p.packed()).unwrap();
    assert!(matches!(part.cols[2], Column::Packed(_)));
    assert!(matches!(part.cols[1], Column::Plain(_)));
    let mut plain = RowStore::new(types());
    for b in 0..40 {
        let cols: Vec<ArrayRef> = all.iter().map(|c| c.slice(b * 3000, 3000)).collect();
        plain.append(cols, 3000).unwrap();
    }
    assert!(
        store.bytes() * 10 < plain.bytes() * 8,
        "{} vs {}",
        store.bytes(),
        plain.bytes()
    );
    let mut rng = Lcg(5);
    let ids: Vec<u32> = (0..5000).map(|_| (rng.next() % n as u64) as u32).collect();
    assert_eq!(store.take(&ids).unwrap(), reference(&all, &ids));
    let every: Vec<u32> = (0..n).collect();
    assert_eq!(store.scan(&every).unwrap(), all);
    // Hashes and compaction read packed parts too.
    store.ensure_hashes().unwrap();
    for id in (0..n).step_by(997) {
        let h = store.hash_rows(&reference(&all, &[id]), 1).unwrap()[0];
        assert_eq!(store.hash(id), Some(h));
    }
    for id in (0..n).filter(|i| i % 3 != 0) {
        store.remove(id);
    }
    let kept: Vec<u32> = (0..n).filter(|i| i % 3 == 0).collect();
    let mut new_ids = kept.clone();
    let mut refs: Vec<&mut u32> = new_ids.iter_mut().collect();
    store.compact(&mut refs).unwrap();
    assert_eq!(store.take(&new_ids).unwrap(), reference(&all, &kept));
}

#[test]
fn parts_read_often_are_unpacked_and_packing_backs_off() {
    let (mut store, all) = packed();
    let packed = packed_parts(&store);
    // Rows of three packed parts read in turn: more parts than the cache holds, so each is
    // decompressed at every read; a scan (a checkpoint) counts for none.
    let every: Vec<u32> = (0..all[0].len() as u32).collect();
    store.scan(&every).unwrap();
    for _ in 0..2 {
        for &start in &packed[..3] {
            let got = store.take(&[start + 1]).unwrap();
            assert_eq!(got, reference(&all, &[start + 1]));
        }
    }
    // One read of a fourth part stays a cache hit afterwards.
    store.take(&[packed[3]]).unwrap();
    store.take(&[packed[3] + 2]).unwrap();
    let mut rng = Lcg(13);
    store.append(rows(&mut rng, 120_000, 3000), 3000).unwrap();
    store.append(rows(&mut rng, 123_000, 3000), 3000).unwrap();
    let now = packed_parts(&store);
    for start in &packed[..3] {
        assert!(!now.contains(start), "part {start} still packed");
    }
    assert!(now.contains(&packed[3]));
    // Three unpackings doubled the cold age three times.
    assert_eq!(store.cold_after, 16);
    assert_eq!(store.take(&every).unwrap(), all);
}
