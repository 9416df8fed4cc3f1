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
//! - Cold parts are packed: once the store holds [`PACK_MIN_BYTES`], a sealed part no row of
//!   which was taken for `cold_after` seals (initially [`COLD_AFTER`]) has each plain `STRING`
//!   column's values compressed with zstd (level 1; RFC 8878), offsets and nulls kept as they
//!   are, when that saves at least 1/[`PACK_MIN_SAVING`] of them. Reading a packed part decompresses it
//!   into a small cache ([`CACHE_PARTS`] parts); a part decompressed [`REHEAT_MISSES`] times
//!   between two seals is unpacked for good and `cold_after` doubles, so state read at random
//!   stops being packed.

use datafusion::arrow::array::{
    make_comparator, new_empty_array, Array, ArrayRef, AsArray, StringArray, StringBuilder,
    UInt32Array,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::{concat, interleave, take, SortOptions};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::hash_utils::{create_hashes, RandomState};
use datafusion::common::{DataFusionError, HashMap, HashSet, Result};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;

/// Rows after which trailing parts are sealed.
const SEAL_ROWS: usize = 4096;
/// Trailing parts after which they are sealed whatever their rows.
const SEAL_PARTS: usize = 64;
/// Bytes a dictionary value costs besides its text (its map entry and shared allocation).
const DICT_ENTRY_OVERHEAD: usize = 64;

/// Bytes of stored columns below which nothing is packed: small state is not worth the CPU.
const PACK_MIN_BYTES: usize = 16 << 20;
/// Seals without a read after which a sealed part is cold, until reads of packed parts
/// double it.
const COLD_AFTER: u64 = 8;
/// The most `cold_after` grows to.
const COLD_AFTER_MAX: u64 = 1 << 20;
/// A column is packed only if that saves this fraction (1/n) of its values at least.
const PACK_MIN_SAVING: usize = 8;
/// Plain values below this many bytes are not packed.
const PACK_MIN_VALUES: usize = 16 << 10;
/// zstd level used for packing (1: the fastest level that entropy-codes literals).
const PACK_LEVEL: i32 = 1;
/// Packed parts kept decompressed after a read.
const CACHE_PARTS: usize = 2;
/// Decompressions of one part between two seals after which it is unpacked for good.
const REHEAT_MISSES: u32 = 2;

/// A contiguous id range `start..start + len` and its columns (sealed: possibly
/// dictionary-encoded or packed, see [`RowStore`]).
struct Part {
    start: u32,
    len: u32,
    cols: Vec<Column>,
    sealed: bool,
    /// Whether packing may still be tried (cleared when it saved too little).
    packable: bool,
    /// The store's seal count when a row of this part was last taken (or it was sealed).
    touched: Cell<u64>,
    /// Decompressions since the last seal.
    misses: Cell<u32>,
    bytes: usize,
}

impl Part {
    fn packed(&self) -> bool {
        self.cols.iter().any(|c| matches!(c, Column::Packed(_)))
    }
}

/// One stored column.
enum Column {
    Plain(ArrayRef),
    /// A `STRING` column whose values are zstd-compressed.
    Packed(Packed),
}

impl Column {
    fn bytes(&self) -> usize {
        match self {
            Column::Plain(a) => a.get_array_memory_size(),
            Column::Packed(p) => {
                p.values.len()
                    + p.offsets.inner().inner().capacity()
                    + p.nulls.as_ref().map_or(0, |n| n.buffer().capacity())
            }
        }
    }

    /// The column as an array; a packed one decompressed.
    fn array(&self) -> Result<ArrayRef> {
        match self {
            Column::Plain(a) => Ok(a.clone()),
            Column::Packed(p) => p.unpack(),
        }
    }
}

/// A `STRING` column's values compressed as one zstd frame; offsets (from 0) and nulls as
/// they were.
struct Packed {
    offsets: OffsetBuffer<i32>,
    nulls: Option<NullBuffer>,
    values: Box<[u8]>,
}

impl Packed {
    /// `col` packed, when that saves at least 1/[`PACK_MIN_SAVING`] of its values.
    fn pack(col: &StringArray) -> Result<Option<Packed>> {
        let offs = col.value_offsets();
        let (first, last) = (offs[0], offs[offs.len() - 1]);
        let raw = &col.value_data()[first as usize..last as usize];
        if raw.len() < PACK_MIN_VALUES {
            return Ok(None);
        }
        let values = zstd::bulk::compress(raw, PACK_LEVEL)
            .map_err(|e| DataFusionError::Execution(format!("packing state: {e}")))?;
        if values.len() > raw.len() - raw.len() / PACK_MIN_SAVING {
            return Ok(None);
        }
        let offsets = if first == 0 {
            col.offsets().clone()
        } else {
            let shifted: ScalarBuffer<i32> = offs.iter().map(|o| o - first).collect();
            OffsetBuffer::new(shifted)
        };
        Ok(Some(Packed {
            offsets,
            nulls: col.nulls().cloned(),
            values: values.into_boxed_slice(),
        }))
    }

    /// The column, decompressed.
    ///
    /// # Errors
    /// A frame that does not decompress to the offsets' length (state corrupted in memory).
    fn unpack(&self) -> Result<ArrayRef> {
        let raw = *self.offsets.last().unwrap_or(&0) as usize;
        let values = zstd::bulk::decompress(&self.values, raw)
            .map_err(|e| DataFusionError::Internal(format!("unpacking state: {e}")))?;
        if values.len() != raw {
            return Err(DataFusionError::Internal(format!(
                "unpacking state: {} bytes, expected {raw}",
                values.len()
            )));
        }
        // SAFETY: `values` are, byte for byte, the values of the valid `StringArray` these
        // offsets and nulls came from (zstd is lossless and the length was checked), so the
        // offsets are in bounds and every string is UTF-8 on a char boundary.
        let col = unsafe {
            StringArray::new_unchecked(
                self.offsets.clone(),
                Buffer::from_vec(values),
                self.nulls.clone(),
            )
        };
        Ok(Arc::new(col))
    }
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
    /// Seals so far: the clock of [`Part::touched`].
    seals: u64,
    /// Seals without a read after which a part is packed.
    cold_after: u64,
    /// Stored bytes from which parts are packed.
    pack_min: usize,
    /// Recently read packed parts, decompressed (by first id), most recent last.
    cache: RefCell<VecDeque<(u32, Vec<ArrayRef>)>>,
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
            seals: 0,
            cold_after: COLD_AFTER,
            pack_min: PACK_MIN_BYTES,
            cache: RefCell::new(VecDeque::new()),
        }
    }

    /// This store, packing cold parts from `min_bytes` stored, cold after `cold_after` seals.
    #[cfg(test)]
    pub(crate) fn packing(mut self, min_bytes: usize, cold_after: u64) -> Self {
        self.pack_min = min_bytes;
        self.cold_after = cold_after;
        self
    }

    /// Live rows.
    pub(crate) fn len(&self) -> usize {
        self.live_rows
    }

    /// Bytes held: arrays (packed or not, and the decompressed cache), dictionaries, live bits
    /// and hashes.
    pub(crate) fn bytes(&self) -> usize {
        let cached: usize = self
            .cache
            .borrow()
            .iter()
            .flat_map(|(_, cols)| cols.iter().map(|c| c.get_array_memory_size()))
            .sum();
        self.bytes
            + cached
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
            cols: cols.into_iter().map(Column::Plain).collect(),
            sealed: false,
            packable: true,
            touched: Cell::new(self.seals),
            misses: Cell::new(0),
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
            self.pack_cold()?;
        }
        Ok(start)
    }

    /// After a seal: unpacks parts read often since the last one, packs cold ones.
    fn pack_cold(&mut self) -> Result<()> {
        let now = self.seals;
        for i in 0..self.parts.len() {
            let part = &self.parts[i];
            let misses = part.misses.replace(0);
            if !part.sealed {
                continue;
            }
            if part.packed() {
                if misses >= REHEAT_MISSES {
                    let start = part.start;
                    let cols = self.part_cols(i, false)?;
                    self.cache.borrow_mut().retain(|(s, _)| *s != start);
                    self.replace_cols(i, cols.into_iter().map(Column::Plain).collect());
                    self.parts[i].touched.set(now);
                    self.cold_after = (self.cold_after * 2).min(COLD_AFTER_MAX);
                }
                continue;
            }
            if !part.packable
                || now - part.touched.get() < self.cold_after
                || self.bytes < self.pack_min
            {
                continue;
            }
            let packs = part
                .cols
                .iter()
                .map(|col| match col {
                    Column::Plain(a) if a.data_type() == &DataType::Utf8 => {
                        Packed::pack(a.as_string::<i32>())
                    }
                    _ => Ok(None),
                })
                .collect::<Result<Vec<_>>>()?;
            if packs.iter().all(Option::is_none) {
                self.parts[i].packable = false;
                continue;
            }
            let cols = std::mem::take(&mut self.parts[i].cols)
                .into_iter()
                .zip(packs)
                .map(|(col, p)| p.map_or(col, Column::Packed))
                .collect();
            self.replace_cols(i, cols);
        }
        Ok(())
    }

    /// Sets part `i`'s columns to `cols`, keeping the byte count.
    fn replace_cols(&mut self, i: usize, cols: Vec<Column>) {
        let part = &mut self.parts[i];
        let bytes = cols.iter().map(Column::bytes).sum();
        self.bytes = self.bytes - part.bytes + bytes;
        part.cols = cols;
        part.bytes = bytes;
    }

    /// Part `p`'s columns as arrays, packed ones decompressed: through the cache when `hot`
    /// (a read that marks the part used), else directly.
    fn part_cols(&self, p: usize, hot: bool) -> Result<Vec<ArrayRef>> {
        let part = &self.parts[p];
        if hot {
            part.touched.set(self.seals);
        }
        if !part.packed() {
            return part.cols.iter().map(Column::array).collect();
        }
        if !hot {
            if let Some((_, cols)) = self.cache.borrow().iter().find(|(s, _)| *s == part.start) {
                return Ok(cols.clone());
            }
            return part.cols.iter().map(Column::array).collect();
        }
        let mut cache = self.cache.borrow_mut();
        if let Some(at) = cache.iter().position(|(s, _)| *s == part.start) {
            let entry = cache.remove(at).expect("position is in the cache");
            let cols = entry.1.clone();
            cache.push_back(entry);
            return Ok(cols);
        }
        part.misses.set(part.misses.get() + 1);
        let cols = part
            .cols
            .iter()
            .map(Column::array)
            .collect::<Result<Vec<_>>>()?;
        if cache.len() == CACHE_PARTS {
            cache.pop_front();
        }
        cache.push_back((part.start, cols.clone()));
        Ok(cols)
    }

    /// Concatenates parts `from..` into one sealed part, dictionary-encoding strings.
    fn seal(&mut self, from: usize) -> Result<()> {
        let tail = self.parts.split_off(from);
        let start = tail[0].start;
        let len: u32 = tail.iter().map(|p| p.len).sum();
        let mut cols = Vec::with_capacity(self.types.len());
        for c in 0..self.types.len() {
            let arrays = tail
                .iter()
                .map(|p| match &p.cols[c] {
                    Column::Plain(a) => Ok(a.as_ref()),
                    Column::Packed(_) => Err(DataFusionError::Internal(
                        "a packed part among the unsealed ones".into(),
                    )),
                })
                .collect::<Result<Vec<&dyn Array>>>()?;
            let mut col = concat(&arrays)?;
            if let Some(dict) = &mut self.dicts[c] {
                if let Some(keys) = dict.encode(col.as_string::<i32>()) {
                    col = Arc::new(keys);
                }
            }
            cols.push(compacted(col)?);
        }
        self.bytes -= tail.iter().map(|p| p.bytes).sum::<usize>();
        self.seals += 1;
        let bytes = cols.iter().map(|c| c.get_array_memory_size()).sum();
        self.bytes += bytes;
        self.parts.push(Part {
            start,
            len,
            cols: cols.into_iter().map(Column::Plain).collect(),
            sealed: true,
            packable: true,
            touched: Cell::new(self.seals),
            misses: Cell::new(0),
            bytes,
        });
        Ok(())
    }

    /// The part holding `id` and the row's index in it.
    fn locate(&self, id: u32) -> (usize, usize) {
        let p = self.parts.partition_point(|p| p.start <= id) - 1;
        (p, (id - self.parts[p].start) as usize)
    }

    /// The rows `ids` (any order, repeats allowed), as columns of the store's types; their
    /// parts count as recently used.
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn take(&self, ids: &[u32]) -> Result<Vec<ArrayRef>> {
        self.read(ids, true)
    }

    /// As [`Self::take`], for bulk reads (checkpoints): parts do not count as used, so a
    /// checkpoint neither keeps them from being packed nor unpacks them.
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn scan(&self, ids: &[u32]) -> Result<Vec<ArrayRef>> {
        self.read(ids, false)
    }

    fn read(&self, ids: &[u32], hot: bool) -> Result<Vec<ArrayRef>> {
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
        let cols = used
            .iter()
            .map(|&p| self.part_cols(p, hot))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(self.types.len());
        for (c, t) in self.types.iter().enumerate() {
            let arrays: Vec<&dyn Array> = cols.iter().map(|cs| cs[c].as_ref()).collect();
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
        (self.pack_min, self.cold_after) = (old.pack_min, old.cold_after);
        let old_hashes = old.hashes.take();
        let mut hashes = old_hashes.as_ref().map(|_| Vec::with_capacity(ids.len()));
        let mut freed = 0;
        for chunk in ids.chunks_mut(SEAL_ROWS) {
            let src: Vec<u32> = chunk.iter().map(|i| **i).collect();
            let first = self.append(old.scan(&src)?, src.len())?;
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
                let cols = self.scan(&ids)?;
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
