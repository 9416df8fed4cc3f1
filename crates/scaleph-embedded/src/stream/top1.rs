//! Top-1 over an insert-only input without windows (Flink's `Rank` with `rankEnd = 1` and
//! keep-last `Deduplicate` on event time): per partition only the best row is kept, so the
//! operator holds one entry per partition and the rows themselves in a columnar
//! [`RowStore`]. Output and state format are [`Rank`](super::rank::Rank)'s for `lo = hi = 1`:
//! the first row of a partition is `+I`, a row that takes rank 1 retracts the one it replaces
//! (`-U` old, `+U` new), a row equal to the one it replaces changes nothing.
//!
//! Rows of the batch being processed are referenced where they are and emitted from it; those
//! still ranked first when the batch ends are appended to the store, so rows replaced within
//! a batch are never stored.

use super::checkpoint::{get_cols, get_rows, put_keys, put_rows, StateReader, StateWriter};
use super::ops::{schema_signature, Operator};
use super::rank::{sort_converter, Rank, Ties};
use super::store::RowStore;
use super::{Chunk, RowKind};
use datafusion::arrow::array::{make_comparator, Array, ArrayRef, UInt64Array};
use datafusion::arrow::compute::{interleave, SortOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::RowConverter;
use datafusion::common::hash_utils::{create_hashes, RandomState};
use datafusion::common::{DataFusionError, HashMap, Result};
use datafusion::physical_expr::PhysicalExpr;
use std::sync::Arc;

/// A [`Best::loc`] at or above this is row `loc - IN_BATCH` of the batch being processed;
/// below it, a store id.
const IN_BATCH: u64 = 1 << 32;

/// A partition's first-ranked row.
struct Best {
    /// Its `ORDER BY` key in the sort converter's row format.
    sort: Box<[u8]>,
    loc: u64,
    /// Its hash (DataFusion's `create_hashes` over its columns).
    hash: u64,
}

/// The Top-1 operator. Output: the input columns, then — when `number` — the rank (`BIGINT`,
/// always 1).
pub(crate) struct Top1 {
    partition: Vec<Arc<dyn PhysicalExpr>>,
    order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
    ties: Ties,
    number: bool,
    schema: SchemaRef,
    types: Vec<DataType>,
    part_conv: Option<RowConverter>,
    sort_conv: Option<RowConverter>,
    best: HashMap<Box<[u8]>, Best>,
    store: RowStore,
    /// Bytes of the partition map (keys, sort keys, entries), besides the store's.
    bytes: usize,
    wm: i64,
}

/// Bytes counted for one partition besides its row.
fn entry_bytes(key: &[u8], sort: &[u8]) -> usize {
    key.len() + sort.len() + super::ops::ENTRY_OVERHEAD
}

impl Top1 {
    /// The first row per partition by `order` (ties per `ties`), of rows with columns `types`.
    pub(crate) fn new(
        partition: Vec<Arc<dyn PhysicalExpr>>,
        order: Vec<(Arc<dyn PhysicalExpr>, SortOptions)>,
        ties: Ties,
        number: bool,
        schema: SchemaRef,
        types: Vec<DataType>,
    ) -> Self {
        Self {
            partition,
            order,
            ties,
            number,
            schema,
            store: RowStore::new(types.clone()),
            types,
            part_conv: None,
            sort_conv: None,
            best: HashMap::new(),
            bytes: 0,
            wm: i64::MIN,
        }
    }

    /// Whether the row at `loc` equals row `r` of `cols`.
    fn same(&self, loc: u64, cols: &[ArrayRef], r: usize) -> Result<bool> {
        if loc >= IN_BATCH {
            let o = (loc - IN_BATCH) as usize;
            for c in cols {
                let cmp = make_comparator(c.as_ref(), c.as_ref(), SortOptions::default())?;
                if cmp(o, r) != std::cmp::Ordering::Equal {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        self.store.equals(loc as u32, cols, r)
    }

    /// Emits `changes` (kind, row location) as one chunk; batch rows come from `cols`.
    fn emit(
        &self,
        changes: &[(RowKind, u64)],
        cols: &[ArrayRef],
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let ids: Vec<u32> = changes
            .iter()
            .filter(|(_, l)| *l < IN_BATCH)
            .map(|(_, l)| *l as u32)
            .collect();
        let stored = self.store.take(&ids)?;
        let mut k = 0;
        let at: Vec<(usize, usize)> = changes
            .iter()
            .map(|(_, l)| {
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
            out_cols.push(Arc::new(UInt64Array::from(vec![1u64; changes.len()])));
        }
        let kinds = changes.iter().map(|(k, _)| *k as u8).collect();
        out.push(super::changelog(&self.schema, out_cols, kinds)?);
        Ok(())
    }

    /// Appends the batch rows still ranked first (rows `won`, in order) to the store.
    fn keep(
        &mut self,
        won: &[usize],
        prow: &datafusion::arrow::row::Rows,
        cols: &[ArrayRef],
    ) -> Result<()> {
        let mut keep: Vec<u32> = Vec::new();
        for &r in won {
            if let Some(b) = self.best.get(prow.row(r).data()) {
                if b.loc == IN_BATCH + r as u64 {
                    keep.push(r as u32);
                }
            }
        }
        if keep.is_empty() {
            return Ok(());
        }
        let idx = datafusion::arrow::array::UInt32Array::from(keep.clone());
        let rows = cols
            .iter()
            .map(|c| Ok(datafusion::arrow::compute::take(c.as_ref(), &idx, None)?))
            .collect::<Result<Vec<_>>>()?;
        let first = self.store.append(rows, keep.len())?;
        for (i, &r) in keep.iter().enumerate() {
            if let Some(b) = self.best.get_mut(prow.row(r as usize).data()) {
                b.loc = u64::from(first) + i as u64;
            }
        }
        Ok(())
    }

    /// Rewrites the store when most of its rows are dead.
    fn compact(&mut self) -> Result<()> {
        if !self.store.needs_compaction() {
            return Ok(());
        }
        let mut ids: Vec<u32> = self.best.values().map(|b| b.loc as u32).collect();
        {
            let mut refs: Vec<&mut u32> = ids.iter_mut().collect();
            self.store.compact(&mut refs)?;
        }
        for (b, id) in self.best.values_mut().zip(ids) {
            b.loc = u64::from(id);
        }
        Ok(())
    }
}

impl Operator for Top1 {
    fn process(&mut self, _input: usize, c: Chunk, out: &mut Vec<Chunk>) -> Result<()> {
        if c.kinds.as_ref().is_some_and(|k| {
            k.iter()
                .any(|&k| k == RowKind::UpdateBefore as u8 || k == RowKind::Delete as u8)
        }) {
            return Err(DataFusionError::Internal(
                "a Top-1 over an insert-only input received a retraction".into(),
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
        let mut changes: Vec<(RowKind, u64)> = Vec::new();
        let mut dead: Vec<u32> = Vec::new();
        let mut won: Vec<usize> = Vec::new();
        for (r, &hash) in hashes.iter().enumerate() {
            let part = prow.row(r).data();
            let sort = srow.row(r).data();
            let loc = IN_BATCH + r as u64;
            let Some(best) = self.best.get(part) else {
                self.bytes += entry_bytes(part, sort);
                self.best.insert(
                    part.into(),
                    Best {
                        sort: sort.into(),
                        loc,
                        hash,
                    },
                );
                changes.push((RowKind::Insert, loc));
                won.push(r);
                continue;
            };
            let wins = match self.ties {
                Ties::Oldest => sort < &best.sort[..],
                Ties::Newest => sort <= &best.sort[..],
            };
            // An equal row leaves rank 1 as it is (its sort key is equal too).
            if !wins || (best.hash == hash && self.same(best.loc, &cols, r)?) {
                continue;
            }
            let best = self.best.get_mut(part).expect("present");
            changes.push((RowKind::UpdateBefore, best.loc));
            changes.push((RowKind::UpdateAfter, loc));
            if best.loc < IN_BATCH {
                dead.push(best.loc as u32);
            }
            if best.sort.len() == sort.len() {
                best.sort.copy_from_slice(sort);
            } else {
                self.bytes = self.bytes + sort.len() - best.sort.len();
                best.sort = sort.into();
            }
            best.loc = loc;
            best.hash = hash;
            won.push(r);
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
        self.best.len()
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

    /// [`Rank`](super::rank::Rank)'s format: counters; per partition (window end 0, one row,
    /// one emitted row, arrival 0); partition keys, sort keys, rows and emitted rows.
    fn snapshot(&mut self, w: &mut StateWriter) -> Result<bool> {
        w.i64(self.wm);
        w.u64(0);
        w.u64(0);
        let n = self.best.len();
        w.u64(n as u64);
        for _ in 0..n {
            w.i64(0);
            w.u64(1);
            w.u64(1);
            w.u64(0);
        }
        put_keys(
            w,
            self.part_conv.as_ref(),
            self.best.keys().map(|k| &k[..]),
            n,
        )?;
        let sorts = self.sort_conv.as_ref().map(RowConverter::parser);
        let sort_rows = self
            .best
            .values()
            .filter_map(|b| sorts.as_ref().map(|p| p.parse(&b.sort)));
        put_rows(w, self.sort_conv.as_ref(), sort_rows, n)?;
        let ids: Vec<u32> = self.best.values().map(|b| b.loc as u32).collect();
        for _ in 0..2 {
            w.u64(n as u64);
            if n > 0 {
                w.arrays(self.store.take(&ids)?)?;
            }
        }
        Ok(true)
    }

    fn restore(&mut self, r: &mut StateReader) -> Result<()> {
        let bad =
            || DataFusionError::Execution("checkpoint: a Top-1's state does not match".into());
        self.wm = r.i64()?;
        r.u64()?;
        r.u64()?;
        let np = r.u64()? as usize;
        let mut counts = Vec::with_capacity(np.min(1 << 20));
        for _ in 0..np {
            r.i64()?;
            let (rows, emitted) = (r.u64()?, r.u64()?);
            for _ in 0..rows {
                r.u64()?;
            }
            if rows > 1 || emitted > 1 {
                return Err(bad());
            }
            counts.push(rows == 1);
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
        let rows = get_cols(r)?;
        get_cols(r)?;
        let total = counts.iter().filter(|c| **c).count();
        if total > 0 && rows.first().map_or(0, |c| c.len()) != total {
            return Err(bad());
        }
        let mut id = if total > 0 {
            let mut h = vec![0; total];
            let cols = super::conform(rows.iter().cloned(), &self.types)?;
            create_hashes(&cols, &RandomState::default(), &mut h)?;
            let first = self.store.append(cols, total)?;
            (first, h)
        } else {
            (0, Vec::new())
        };
        let mut at = 0;
        for (i, has) in counts.into_iter().enumerate() {
            if !has {
                continue;
            }
            let (Some(k), Some(s)) = (&keys, &sorts) else {
                return Err(bad());
            };
            let key: Box<[u8]> = k.row(i).data().into();
            let sort: Box<[u8]> = s.row(at).data().into();
            self.bytes += entry_bytes(&key, &sort);
            self.best.insert(
                key,
                Best {
                    sort,
                    loc: u64::from(id.0),
                    hash: id.1[at],
                },
            );
            id.0 += 1;
            at += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
