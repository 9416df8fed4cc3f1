//! Columnar storage for operator state rows: rows of one schema kept as Arrow arrays and
//! addressed by `u32` ids, instead of one heap allocation per row.
//!
//! - Rows are appended in batches (parts); an id is the row's position in append order, so a
//!   part covers a contiguous id range. Small trailing parts are concatenated ("sealed") once
//!   they hold [`SEAL_ROWS`] rows or number [`SEAL_PARTS`].
//! - On sealing, a `STRING` column is dictionary-encoded (`UInt32` keys into one dictionary per
//!   column) when that takes fewer bytes than the plain column, counting
//!   [`DICT_ENTRY_OVERHEAD`] per new dictionary value: low-cardinality strings (URLs, channels,
//!   status codes) cost 4 bytes per row.
//! - Removal clears a live bit; [`RowStore::compact`] rewrites the live rows (and a fresh
//!   dictionary) once dead rows exceed half the live ones, renumbering ids through the
//!   caller.
//! - Row hashes (DataFusion's `create_hashes`) are kept only once a caller asks for them (a
//!   retraction), so insert-only state pays nothing for them.

use datafusion::arrow::array::{
    make_comparator, new_empty_array, Array, ArrayRef, AsArray, StringArray, StringBuilder,
    UInt32Array,
};
use datafusion::arrow::compute::{concat, interleave, take, SortOptions};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::hash_utils::{create_hashes, RandomState};
use datafusion::common::{DataFusionError, HashMap, HashSet, Result};
use std::sync::Arc;

/// Rows after which trailing parts are sealed.
const SEAL_ROWS: usize = 4096;
/// Trailing parts after which they are sealed whatever their rows.
const SEAL_PARTS: usize = 64;
/// Bytes a dictionary value costs besides its text (its map entry and shared allocation).
const DICT_ENTRY_OVERHEAD: usize = 64;

/// A contiguous id range `start..start + len` and its columns (sealed: possibly
/// dictionary-encoded, see [`RowStore`]).
struct Part {
    start: u32,
    len: u32,
    cols: Vec<ArrayRef>,
    sealed: bool,
    bytes: usize,
}

/// One `STRING` column's dictionary: distinct values and their keys.
#[derive(Default)]
struct Dict {
    keys: HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
    bytes: usize,
}

impl Dict {
    /// `col` as keys into this dictionary when the keys plus the new values take fewer bytes
    /// than `col`'s values and offsets; `None` (nothing added) otherwise.
    fn encode(&mut self, col: &StringArray) -> Option<UInt32Array> {
        let plain = col.value_data().len() + 4 * col.len();
        let keyed = 4 * col.len();
        let mut added = 0;
        let mut new: HashSet<&str> = HashSet::new();
        for v in col.iter().flatten() {
            if !self.keys.contains_key(v) && new.insert(v) {
                added += v.len() + DICT_ENTRY_OVERHEAD;
                if keyed + added >= plain {
                    return None;
                }
            }
        }
        let keys = col
            .iter()
            .map(|v| {
                v.map(|s| match self.keys.get(s) {
                    Some(&k) => k,
                    None => {
                        let k = self.values.len() as u32;
                        let s: Arc<str> = s.into();
                        self.bytes += s.len() + DICT_ENTRY_OVERHEAD;
                        self.values.push(s.clone());
                        self.keys.insert(s, k);
                        k
                    }
                })
            })
            .collect();
        Some(keys)
    }
}

/// Rows of the column types `types`, by id. Not thread-safe; one per operator (side).
pub(crate) struct RowStore {
    types: Vec<DataType>,
    parts: Vec<Part>,
    /// Next id to give out.
    next: u32,
    /// Live bit per id.
    live: Vec<u64>,
    live_rows: usize,
    dead_rows: usize,
    /// Per column: its dictionary (`STRING` columns only).
    dicts: Vec<Option<Dict>>,
    /// Per id: the row's hash, once asked for.
    hashes: Option<Vec<u64>>,
    bytes: usize,
}

impl RowStore {
    /// An empty store of rows with columns `types`.
    pub(crate) fn new(types: Vec<DataType>) -> Self {
        let dicts = types
            .iter()
            .map(|t| (*t == DataType::Utf8).then(Dict::default))
            .collect();
        Self {
            types,
            parts: Vec::new(),
            next: 0,
            live: Vec::new(),
            live_rows: 0,
            dead_rows: 0,
            dicts,
            hashes: None,
            bytes: 0,
        }
    }

    /// Live rows.
    pub(crate) fn len(&self) -> usize {
        self.live_rows
    }

    /// Bytes held: arrays, dictionaries, live bits and hashes.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
            + self.dicts.iter().flatten().map(|d| d.bytes).sum::<usize>()
            + self.live.len() * 8
            + self.hashes.as_ref().map_or(0, |h| h.len() * 8)
    }

    /// Appends `n` rows (columns `cols`, cast to the store's types; copied if they are a small
    /// slice of larger arrays); returns the first one's id, the others following in order.
    ///
    /// # Errors
    /// More than `u32::MAX` ids given out since the last compaction; Arrow errors.
    pub(crate) fn append(&mut self, cols: Vec<ArrayRef>, n: usize) -> Result<u32> {
        let start = self.next;
        let next = u32::try_from(start as usize + n).map_err(|_| {
            DataFusionError::ResourcesExhausted("operator state exceeds 2^32 rows".into())
        })?;
        let cols = super::conform(cols, &self.types)?
            .into_iter()
            .map(compacted)
            .collect::<Result<Vec<_>>>()?;
        if let Some(h) = &mut self.hashes {
            let at = h.len();
            h.resize(at + n, 0);
            create_hashes(&cols, &RandomState::default(), &mut h[at..])?;
        }
        let bytes = cols.iter().map(|c| c.get_array_memory_size()).sum();
        self.bytes += bytes;
        self.parts.push(Part {
            start,
            len: n as u32,
            cols,
            sealed: false,
            bytes,
        });
        self.live.resize((next as usize).div_ceil(64), 0);
        for id in start..next {
            self.live[id as usize / 64] |= 1 << (id % 64);
        }
        self.next = next;
        self.live_rows += n;
        let from = self
            .parts
            .iter()
            .rposition(|p| p.sealed)
            .map_or(0, |i| i + 1);
        let rows: usize = self.parts[from..].iter().map(|p| p.len as usize).sum();
        if rows >= SEAL_ROWS || self.parts.len() - from >= SEAL_PARTS {
            self.seal(from)?;
        }
        Ok(start)
    }

    /// Concatenates parts `from..` into one sealed part, dictionary-encoding strings.
    fn seal(&mut self, from: usize) -> Result<()> {
        let tail = self.parts.split_off(from);
        let start = tail[0].start;
        let len: u32 = tail.iter().map(|p| p.len).sum();
        let mut cols = Vec::with_capacity(self.types.len());
        for c in 0..self.types.len() {
            let arrays: Vec<&dyn Array> = tail.iter().map(|p| p.cols[c].as_ref()).collect();
            let mut col = concat(&arrays)?;
            if let Some(dict) = &mut self.dicts[c] {
                if let Some(keys) = dict.encode(col.as_string::<i32>()) {
                    col = Arc::new(keys);
                }
            }
            cols.push(compacted(col)?);
        }
        self.bytes -= tail.iter().map(|p| p.bytes).sum::<usize>();
        let bytes = cols.iter().map(|c| c.get_array_memory_size()).sum();
        self.bytes += bytes;
        self.parts.push(Part {
            start,
            len,
            cols,
            sealed: true,
            bytes,
        });
        Ok(())
    }

    /// The part holding `id` and the row's index in it.
    fn locate(&self, id: u32) -> (usize, usize) {
        let p = self.parts.partition_point(|p| p.start <= id) - 1;
        (p, (id - self.parts[p].start) as usize)
    }

    /// The rows `ids` (any order, repeats allowed), as columns of the store's types.
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn take(&self, ids: &[u32]) -> Result<Vec<ArrayRef>> {
        if ids.is_empty() {
            return Ok(self.types.iter().map(new_empty_array).collect());
        }
        // Parts referenced, numbered in first-use order.
        let mut local: HashMap<usize, usize> = HashMap::new();
        let mut used: Vec<usize> = Vec::new();
        let locs: Vec<(usize, usize)> = ids
            .iter()
            .map(|&id| {
                let (p, r) = self.locate(id);
                let l = *local.entry(p).or_insert_with(|| {
                    used.push(p);
                    used.len() - 1
                });
                (l, r)
            })
            .collect();
        let mut out = Vec::with_capacity(self.types.len());
        for (c, t) in self.types.iter().enumerate() {
            let arrays: Vec<&dyn Array> = used
                .iter()
                .map(|&p| self.parts[p].cols[c].as_ref())
                .collect();
            let dict = self.dicts[c].as_ref();
            let keyed = |a: &&dyn Array| a.data_type() != t;
            match dict {
                Some(dict) if arrays.iter().any(keyed) => {
                    out.push(Arc::new(decode_strings(dict, &arrays, &locs)) as ArrayRef);
                }
                _ => out.push(interleave(&arrays, &locs)?),
            }
        }
        Ok(out)
    }

    /// Marks row `id` dead.
    pub(crate) fn remove(&mut self, id: u32) {
        let (w, b) = (id as usize / 64, id % 64);
        if self.live[w] & (1 << b) != 0 {
            self.live[w] &= !(1 << b);
            self.live_rows -= 1;
            self.dead_rows += 1;
        }
    }

    /// Dead rows are more than half the live ones (and enough to be worth a rewrite): the
    /// store holds at most 1.5 times its live rows.
    pub(crate) fn needs_compaction(&self) -> bool {
        self.dead_rows > (self.live_rows / 2).max(SEAL_ROWS)
    }

    /// Rewrites the store with only the rows `ids` (every live id, each once) and sets each to
    /// its new id. Rows keep their relative order; each old part is freed once copied, so the
    /// rewrite holds little more than the live rows.
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn compact(&mut self, ids: &mut [&mut u32]) -> Result<()> {
        ids.sort_unstable_by_key(|i| **i);
        let mut old = std::mem::replace(self, Self::new(self.types.clone()));
        let old_hashes = old.hashes.take();
        let mut hashes = old_hashes.as_ref().map(|_| Vec::with_capacity(ids.len()));
        let mut freed = 0;
        for chunk in ids.chunks_mut(SEAL_ROWS) {
            let src: Vec<u32> = chunk.iter().map(|i| **i).collect();
            let first = self.append(old.take(&src)?, src.len())?;
            for (k, i) in chunk.iter_mut().enumerate() {
                **i = first + k as u32;
            }
            if let (Some(h), Some(old)) = (&mut hashes, &old_hashes) {
                h.extend(src.iter().map(|&i| old[i as usize]));
            }
            // Old parts wholly before the next row to copy are not read again.
            let next = src.last().map_or(0, |&i| i as u64 + 1);
            while freed < old.parts.len()
                && u64::from(old.parts[freed].start) + u64::from(old.parts[freed].len) <= next
            {
                old.parts[freed].cols = Vec::new();
                freed += 1;
            }
        }
        self.hashes = hashes;
        Ok(())
    }

    /// Starts keeping row hashes (computing them for the rows already stored).
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn ensure_hashes(&mut self) -> Result<()> {
        if self.hashes.is_none() {
            let mut h = vec![0; self.next as usize];
            for p in &self.parts {
                let ids: Vec<u32> = (p.start..p.start + p.len).collect();
                let cols = self.take(&ids)?;
                let at = p.start as usize;
                create_hashes(&cols, &RandomState::default(), &mut h[at..at + ids.len()])?;
            }
            self.hashes = Some(h);
        }
        Ok(())
    }

    /// Row `id`'s hash, once [`Self::ensure_hashes`] was called.
    pub(crate) fn hash(&self, id: u32) -> Option<u64> {
        self.hashes.as_ref().map(|h| h[id as usize])
    }

    /// The hash of each row of `cols` (the store's types), comparable with [`Self::hash`].
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn hash_rows(&self, cols: &[ArrayRef], n: usize) -> Result<Vec<u64>> {
        let cols = super::conform(cols.iter().cloned(), &self.types)?;
        let mut h = vec![0; n];
        create_hashes(&cols, &RandomState::default(), &mut h)?;
        Ok(h)
    }

    /// Whether row `id` equals row `r` of `cols` (the store's types; NULLs equal, as
    /// `IS NOT DISTINCT FROM`).
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn equals(&self, id: u32, cols: &[ArrayRef], r: usize) -> Result<bool> {
        rows_equal(&self.take(&[id])?, 0, cols, r)
    }
}

/// Whether row `ra` of columns `a` equals row `rb` of columns `b` (same types; NULLs equal,
/// floats by total order: Arrow's comparator).
///
/// # Errors
/// A type Arrow's comparator does not order.
pub(crate) fn rows_equal(a: &[ArrayRef], ra: usize, b: &[ArrayRef], rb: usize) -> Result<bool> {
    for (x, y) in a.iter().zip(b) {
        let cmp = make_comparator(x.as_ref(), y.as_ref(), SortOptions::default())?;
        if cmp(ra, rb) != std::cmp::Ordering::Equal {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `col`, copied when it holds more than twice the memory its rows need (a slice of a larger
/// array), so state does not pin its input's buffers.
fn compacted(col: ArrayRef) -> Result<ArrayRef> {
    // A layout whose slice size arrow cannot tell is kept as it is.
    let Ok(needed) = col.to_data().get_slice_memory_size() else {
        return Ok(col);
    };
    if col.get_array_memory_size() > 2 * needed + 1024 {
        let idx = UInt32Array::from_iter_values(0..col.len() as u32);
        return Ok(take(col.as_ref(), &idx, None)?);
    }
    Ok(col)
}

/// The strings at `locs` ((array, row) pairs) of `arrays`: plain `STRING` arrays or keys into
/// `dict`.
fn decode_strings(dict: &Dict, arrays: &[&dyn Array], locs: &[(usize, usize)]) -> StringArray {
    let mut out = StringBuilder::with_capacity(locs.len(), locs.len() * 16);
    for &(a, r) in locs {
        let a = arrays[a];
        if a.is_null(r) {
            out.append_null();
        } else if let Some(keys) = a.as_primitive_opt::<datafusion::arrow::datatypes::UInt32Type>()
        {
            out.append_value(&dict.values[keys.value(r) as usize]);
        } else {
            out.append_value(a.as_string::<i32>().value(r));
        }
    }
    out.finish()
}

#[cfg(test)]
pub(crate) mod tests;
