//! Top-N over an insert-only input without windows (Flink's `Rank` over an append-only input,
//! keep-last `Deduplicate` on event time, `Limit` and `SortLimit`): per partition only the `hi` best rows are kept (a
//! row that falls out can never come back), as small entries, with the rows themselves in a
//! columnar [`RowStore`]. Output and state format are [`Rank`]'s: after each input row, the
//! ranks `lo..=hi` that changed are emitted — a new rank `+I`, a changed one `-U` old / `+U`
//! new (a rank whose row is replaced by an equal row does not change).
//!
//! Rows of the batch being processed are referenced where they are and emitted from it; those
//! still ranked when the batch ends are appended to the store, so rows that enter and fall out
//! within a batch are never stored.

use super::checkpoint::{get_cols, get_rows, put_keys, put_rows, StateReader, StateWriter};
use super::ops::{schema_signature, Operator};
use super::rank::{sort_converter, Rank, Ties};
use super::store::{rows_equal, RowStore};
use super::{Chunk, RowKind};
use datafusion::arrow::array::{Array, ArrayRef, UInt32Array, UInt64Array};
use datafusion::arrow::compute::{interleave, take, SortOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows};
use datafusion::common::hash_utils::{create_hashes, RandomState};
use datafusion::common::{DataFusionError, HashMap, Result};
use datafusion::physical_expr::PhysicalExpr;
use smallvec::SmallVec;
use std::sync::Arc;

/// A [`Kept::loc`] at or above this is row `loc - IN_BATCH` of the batch being processed;
/// below it, a store id.
const IN_BATCH: u64 = 1 << 32;

/// A kept row.
struct Kept {
    /// Its `ORDER BY` key in the sort converter's row format.
    sort: Box<[u8]>,
    loc: u64,
    /// Its hash (DataFusion's `create_hashes` over its columns).
    hash: u64,
}

/// A partition's kept rows, ranked (ascending by sort key, ties per [`Ties`]); at most `hi`.
/// One inline: most Top-N are Top-1.
type Ranked = SmallVec<[Kept; 1]>;

/// The Top-N operator. Output: the input columns, then — when `number` — the rank (`BIGINT`).
pub(crate) struct TopN {
    partition: Vec<Arc<dyn PhysicalExpr>>,
    order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    /// Ranks emitted, 1-based inclusive.
    lo: u64,
    hi: u64,
    ties: Ties,
    number: bool,
    schema: SchemaRef,
    types: Vec<DataType>,
    part_conv: Option<RowConverter>,
    sort_conv: Option<RowConverter>,
    parts: HashMap<Box<[u8]>, Ranked>,
    store: RowStore,
    /// Bytes of the partition map (keys, sort keys, entries), besides the store's.
    bytes: usize,
    wm: i64,
}

/// Bytes counted for a partition key.
fn key_bytes(key: &[u8]) -> usize {
    key.len() + super::ops::ENTRY_OVERHEAD
}

/// Bytes counted for a kept row besides its columns.
fn kept_bytes(sort: &[u8]) -> usize {
    sort.len() + std::mem::size_of::<Kept>()
}

/// One rank's change: its kind, the row's location and the rank.
type Change = (RowKind, u64, u64);

impl TopN {
    /// The rows ranked `lo..=hi` per partition by `order` (ties per `ties`), of rows with
    /// columns `types`.
    pub(crate) fn new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        (lo, hi): (u64, u64),
        ties: Ties,
        number: bool,
        schema: SchemaRef,
        types: Vec<DataType>,
    ) -> Self {
        Self {
            partition,
            order,
            lo,
            hi,
            ties,
            number,
            schema,
            store: RowStore::new(types.clone()),
            types,
            part_conv: None,
            sort_conv: None,
            parts: HashMap::new(),
            bytes: 0,
            wm: i64::MIN,
        }
    }

    /// The row at `loc` as columns and its index in them (batch rows from `cols`).
    fn row_at(&self, loc: u64, cols: &[ArrayRef]) -> Result<(Vec<ArrayRef>, usize)> {
        if loc >= IN_BATCH {
            return Ok((cols.to_vec(), (loc - IN_BATCH) as usize));
        }
        Ok((self.store.take(&[loc as u32])?, 0))
    }

    /// Whether kept rows `a` and `b` are equal (NULLs equal).
    fn same(&self, a: (u64, u64), b: (u64, u64), cols: &[ArrayRef]) -> Result<bool> {
        if a.0 == b.0 {
            return Ok(true);
        }
        if a.1 != b.1 {
            return Ok(false);
        }
        let ((ca, ra), (cb, rb)) = (self.row_at(a.0, cols)?, self.row_at(b.0, cols)?);
        rows_equal(&ca, ra, &cb, rb)
    }

    /// Emits `changes` as one chunk; batch rows come from `cols`.
    fn emit(&self, changes: &[Change], cols: &[ArrayRef], out: &mut Vec<Chunk>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let ids: Vec<u32> = changes
            .iter()
            .filter(|(_, l, _)| *l < IN_BATCH)
            .map(|(_, l, _)| *l as u32)
            .collect();
        let stored = self.store.take(&ids)?;
        let mut k = 0;
        let at: Vec<(usize, usize)> = changes
            .iter()
            .map(|(_, l, _)| {
                if *l >= IN_BATCH {
                    (1, (*l - IN_BATCH) as usize)
                } else {
                    k += 1;
                    (0, k - 1)
                }
            })
            .collect();
        let mut out_cols = stored
            .iter()
            .zip(cols)
            .map(|(s, c)| Ok(interleave(&[s.as_ref(), c.as_ref()], &at)?))
            .collect::<Result<Vec<_>>>()?;
        if self.number {
            let ranks = changes.iter().map(|(_, _, n)| *n);
            out_cols.push(Arc::new(UInt64Array::from_iter_values(ranks)));
        }
        let kinds = changes.iter().map(|(k, _, _)| *k as u8).collect();
        out.push(super::changelog(&self.schema, out_cols, kinds)?);
        Ok(())
    }

    /// Ranks row `r` (partition `part`, sort key `sort`, hash `hash`) and records the ranks
    /// `lo..=hi` it changes; returns whether it was kept. A row that falls out of the kept ones
    /// is pushed to `dead` when stored.
    #[allow(clippy::too_many_arguments)]
    fn rank(
        &mut self,
        r: usize,
        part: &[u8],
        sort: &[u8],
        hash: u64,
        cols: &[ArrayRef],
        changes: &mut Vec<Change>,
        dead: &mut Vec<u32>,
    ) -> Result<bool> {
        let (lo, hi) = (self.lo as usize, self.hi as usize);
        if hi == 0 || lo > hi {
            // No rank is kept (`rn <= 0`, `rn BETWEEN 5 AND 2`).
            return Ok(false);
        }
        let loc = IN_BATCH + r as u64;
        let Some(kept) = self.parts.get(part) else {
            self.bytes += key_bytes(part) + kept_bytes(sort);
            let mut kept = Ranked::new();
            kept.push(Kept {
                sort: sort.into(),
                loc,
                hash,
            });
            self.parts.insert(part.into(), kept);
            if lo == 1 {
                changes.push((RowKind::Insert, loc, 1));
            }
            return Ok(true);
        };
        let p = match self.ties {
            Ties::Oldest => kept.partition_point(|k| &k.sort[..] <= sort),
            Ties::Newest => kept.partition_point(|k| &k.sort[..] < sort),
        };
        if p >= hi {
            return Ok(false);
        }
        let len = kept.len();
        // Rank i (0-based) holds kept[i] before and, after, the new row (i = p) or kept[i - 1].
        for i in p.max(lo - 1)..(len + 1).min(hi) {
            let new = if i == p {
                (loc, hash)
            } else {
                (kept[i - 1].loc, kept[i - 1].hash)
            };
            let rank = i as u64 + 1;
            match kept.get(i) {
                None => changes.push((RowKind::Insert, new.0, rank)),
                Some(old) => {
                    if !self.same((old.loc, old.hash), new, cols)? {
                        changes.push((RowKind::UpdateBefore, old.loc, rank));
                        changes.push((RowKind::UpdateAfter, new.0, rank));
                    }
                }
            }
        }
        let kept = self.parts.get_mut(part).expect("present");
        kept.insert(
            p,
            Kept {
                sort: sort.into(),
                loc,
                hash,
            },
        );
        self.bytes += kept_bytes(sort);
        if kept.len() > hi {
            let out = kept.pop().expect("longer than hi");
            self.bytes -= kept_bytes(&out.sort);
            if out.loc < IN_BATCH {
                dead.push(out.loc as u32);
            }
        }
        Ok(true)
    }

    /// Appends the rows of the batch still kept (of rows `won`, in order) to the store.
    fn keep(&mut self, won: &[usize], prow: &Rows, cols: &[ArrayRef]) -> Result<()> {
        let mut keep: Vec<u32> = Vec::new();
        for &r in won {
            let loc = IN_BATCH + r as u64;
            let kept = self.parts.get(prow.row(r).data());
            if kept.is_some_and(|k| k.iter().any(|k| k.loc == loc)) {
                keep.push(r as u32);
            }
        }
        if keep.is_empty() {
            return Ok(());
        }
        let idx = UInt32Array::from(keep.clone());
        let rows = cols
            .iter()
            .map(|c| Ok(take(c.as_ref(), &idx, None)?))
            .collect::<Result<Vec<_>>>()?;
        let first = self.store.append(rows, keep.len())?;
        for (i, &r) in keep.iter().enumerate() {
            let loc = IN_BATCH + u64::from(r);
            if let Some(kept) = self.parts.get_mut(prow.row(r as usize).data()) {
                for k in kept.iter_mut().filter(|k| k.loc == loc) {
                    k.loc = u64::from(first) + i as u64;
                }
            }
        }
        Ok(())
    }

    /// Rewrites the store when enough of its rows are dead.
    fn compact(&mut self) -> Result<()> {
        if !self.store.needs_compaction() {
            return Ok(());
        }
        let mut ids: Vec<u32> = self.kept().map(|k| k.loc as u32).collect();
        {
            let mut refs: Vec<&mut u32> = ids.iter_mut().collect();
            self.store.compact(&mut refs)?;
        }
        let kept = self.parts.values_mut().flat_map(|k| k.iter_mut());
        for (k, id) in kept.zip(ids) {
            k.loc = u64::from(id);
        }
        Ok(())
    }

    /// Every kept row, partition by partition (the map's order), best first.
    fn kept(&self) -> impl Iterator<Item = &Kept> {
        self.parts.values().flat_map(|k| k.iter())
    }

    /// How many of `len` kept rows hold emitted ranks (`lo..=hi`).
    fn emitted(&self, len: usize) -> usize {
        len.saturating_sub(self.lo.saturating_sub(1) as usize)
            .min((self.hi + 1).saturating_sub(self.lo) as usize)
    }
}

impl Operator for TopN {
    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        if c.kinds.as_ref().is_some_and(|k| {
            k.iter()
                .any(|&k| k == RowKind::UpdateBefore as u8 || k == RowKind::Delete as u8)
        }) {
            return Err(DataFusionError::Internal(
                "a Top-N over an insert-only input received a retraction".into(),
            ));
        }
        let b = &c.batch;
        let n = b.num_rows();
        let parts = Rank::eval(self.partition.iter().cloned(), b)?;
        let sorts = Rank::eval(self.order.iter().map(|(e, _)| e.clone()), b)?;
        if self.sort_conv.is_none() {
            self.sort_conv = Some(sort_converter(&self.order, &sorts)?);
        }
        let prow = super::encode(&mut self.part_conv, &parts)?;
        let srow = self
            .sort_conv
            .as_ref()
            .expect("set above")
            .convert_columns(&sorts)?;
        let cols = super::conform(b.columns().iter().cloned(), &self.types)?;
        let mut hashes = vec![0; n];
        create_hashes(&cols, &RandomState::default(), &mut hashes)?;
        let mut changes: Vec<Change> = Vec::new();
        let mut dead: Vec<u32> = Vec::new();
        let mut won: Vec<usize> = Vec::new();
        for (r, &hash) in hashes.iter().enumerate() {
            let (part, sort) = (prow.row(r), srow.row(r));
            if self.rank(
                r,
                part.data(),
                sort.data(),
                hash,
                &cols,
                &mut changes,
                &mut dead,
            )? {
                won.push(r);
            }
        }
        self.emit(&changes, &cols, out)?;
        for id in dead {
            self.store.remove(id);
        }
        self.keep(&won, &prow, &cols)?;
        self.compact()
    }

    fn watermark(&mut self, wm: i64, _out: &mut Vec<Chunk>) -> Result<()> {
        self.wm = wm;
        Ok(())
    }

    fn state_rows(&self) -> usize {
        self.store.len()
    }

    fn state_bytes(&self) -> usize {
        self.bytes + self.store.bytes()
    }

    fn name(&self) -> &'static str {
        match self.ties {
            Ties::Newest => "Deduplicate",
            Ties::Oldest => "Rank",
        }
    }

    fn checkpointable(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn signature(&self) -> String {
        schema_signature(self.name(), &self.schema)
    }

    /// [`Rank`]'s format: counters; per partition (window end 0, kept and emitted counts,
    /// arrival 0 per kept row); partition keys, sort keys, kept rows and emitted rows.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(0);
        w.u64(0);
        w.u64(self.parts.len() as u64);
        for kept in self.parts.values() {
            w.i64(0);
            w.u64(kept.len() as u64);
            w.u64(self.emitted(kept.len()) as u64);
            for _ in kept.iter() {
                w.u64(0);
            }
        }
        let pc = self.part_conv.as_ref();
        let keys = self.parts.keys().map(|k| &k[..]);
        put_keys(w, pc, keys, self.parts.len())?;
        let parser = self.sort_conv.as_ref().map(RowConverter::parser);
        let sorts = self
            .kept()
            .filter_map(|k| parser.as_ref().map(|p| p.parse(&k.sort)));
        let ids: Vec<u32> = self.kept().map(|k| k.loc as u32).collect();
        put_rows(w, self.sort_conv.as_ref(), sorts, ids.len())?;
        let skip = self.lo.saturating_sub(1) as usize;
        let emitted: Vec<u32> = self
            .parts
            .values()
            .flat_map(|k| k.iter().skip(skip).take(self.emitted(k.len())))
            .map(|k| k.loc as u32)
            .collect();
        for ids in [ids, emitted] {
            w.u64(ids.len() as u64);
            if !ids.is_empty() {
                w.arrays(self.store.scan(&ids)?)?;
            }
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        let bad =
            || DataFusionError::Execution("checkpoint: a Top-N's state does not match".into());
        self.wm = r.i64()?;
        r.u64()?;
        r.u64()?;
        let np = r.u64()? as usize;
        let mut lens = Vec::with_capacity(np.min(1 << 20));
        for _ in 0..np {
            r.i64()?;
            let (len, emitted) = (r.u64()? as usize, r.u64()? as usize);
            for _ in 0..len {
                r.u64()?;
            }
            if len > self.hi as usize || emitted != self.emitted(len) {
                return Err(bad());
            }
            lens.push(len);
        }
        let keys = get_rows(r, &mut self.part_conv)?;
        let sort_cols = get_cols(r)?;
        if !sort_cols.is_empty() {
            self.sort_conv = Some(sort_converter(&self.order, &sort_cols)?);
        }
        let sorts = match &self.sort_conv {
            Some(c) if !sort_cols.is_empty() => Some(c.convert_columns(&sort_cols)?),
            _ => None,
        };
        let rows = super::conform(get_cols(r)?, &self.types)?;
        get_cols(r)?;
        let total: usize = lens.iter().sum();
        if total > 0 && rows.first().map_or(0, |c| c.len()) != total {
            return Err(bad());
        }
        let mut hashes = vec![0; total];
        let mut id = 0;
        if total > 0 {
            create_hashes(&rows, &RandomState::default(), &mut hashes)?;
            id = self.store.append(rows, total)?;
        }
        let mut at = 0;
        for (i, len) in lens.into_iter().enumerate() {
            let (Some(k), Some(s)) = (&keys, &sorts) else {
                if len == 0 {
                    continue;
                }
                return Err(bad());
            };
            let key: Box<[u8]> = k.row(i).data().into();
            let mut kept = Ranked::new();
            for _ in 0..len {
                let sort: Box<[u8]> = s.row(at).data().into();
                self.bytes += kept_bytes(&sort);
                kept.push(Kept {
                    sort,
                    loc: u64::from(id),
                    hash: hashes[at],
                });
                id += 1;
                at += 1;
            }
            if !kept.is_empty() {
                self.bytes += key_bytes(&key);
                self.parts.insert(key, kept);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
