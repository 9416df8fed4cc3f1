//! Checkpoints of a streaming dataflow (`execution.checkpointing.*`).
//!
//! The driver runs every operator in one task and nothing is in flight between operators, so a
//! checkpoint is taken between two source batches (an aligned barrier made trivial): source
//! positions, every operator's state and watermarks, then the sink's pre-commit. Layout:
//!
//! ```text
//! <dir>/chk-<n>/op-<node>.state   one per stateful operator (format below)
//! <dir>/chk-<n>/_metadata          JSON manifest, written last (temp file, fsync, rename)
//! ```
//!
//! A directory without `_metadata` is an incomplete checkpoint and is ignored and removed.
//! `execution.checkpointing.num-retained` (default 1, as Flink) completed checkpoints are
//! kept. Without a directory, checkpoints live in memory only: sinks still commit on them.
//!
//! Operator state files are a sequence of little-endian fields written by [`StateWriter`]:
//! `u64`/`i64` values, length-prefixed byte strings, and length-prefixed Arrow IPC streams for
//! values (group keys, accumulator states as DataFusion's `Accumulator::state`).

use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter as IpcWriter;
use datafusion::arrow::row::{Row, RowConverter, Rows};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Version of the manifest and state files.
pub(crate) const FORMAT: u32 = 1;
/// File name of the manifest of a checkpoint directory.
pub(crate) const MANIFEST: &str = "_metadata";

/// `execution.checkpointing.*` of one streaming statement.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointConfig {
    /// `execution.checkpointing.interval`.
    pub(crate) interval: Duration,
    /// Where the statement's checkpoints go (`None`: in memory).
    pub(crate) dir: Option<PathBuf>,
    /// `execution.checkpointing.num-retained`.
    pub(crate) retained: usize,
}

/// A checkpoint's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) format: u32,
    pub(crate) id: u64,
    /// When it was taken, epoch ms.
    pub(crate) timestamp: i64,
    pub(crate) sources: Vec<SourceState>,
    pub(crate) operators: Vec<OperatorState>,
    /// The sink's pre-commit state (`null`: none).
    pub(crate) sink: serde_json::Value,
}

/// A source's position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SourceState {
    /// What the source reads (its columns): restore matches sources by it.
    #[serde(default)]
    pub(crate) signature: String,
    /// Rows delivered.
    pub(crate) rows: u64,
    /// Largest watermark value seen, last emitted (epoch ms).
    pub(crate) pending: i64,
    pub(crate) emitted: i64,
}

/// An operator's checkpointed state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OperatorState {
    /// What the operator is (its kind and output schema): restore checks it matches.
    pub(crate) signature: String,
    pub(crate) input_watermarks: Vec<i64>,
    pub(crate) watermark: i64,
    /// The state file in the checkpoint directory (`None`: stateless).
    pub(crate) file: Option<String>,
}

/// The latest completed checkpoint under `dir` (`chk-<n>` with a manifest), if any.
pub(crate) fn latest(dir: &Path) -> Option<PathBuf> {
    completed(dir).into_iter().last().map(|(_, p)| p)
}

/// Completed checkpoints under `dir`, oldest first.
fn completed(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.strip_prefix("chk-")?.parse().ok()?;
            e.path().join(MANIFEST).is_file().then(|| (n, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn io(e: std::io::Error, what: &str, p: &Path) -> DataFusionError {
    DataFusionError::Execution(format!("checkpoint: cannot {what} '{}': {e}", p.display()))
}

/// Reads the manifest of checkpoint directory `chk`.
///
/// # Errors
/// Missing or unreadable manifest, another format version.
pub(crate) fn read_manifest(chk: &Path) -> Result<Manifest> {
    let p = chk.join(MANIFEST);
    let text = std::fs::read_to_string(&p).map_err(|e| io(e, "read", &p))?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| DataFusionError::Execution(format!("checkpoint '{}': {e}", chk.display())))?;
    if m.format != FORMAT {
        return Err(DataFusionError::Execution(format!(
            "checkpoint '{}' has format {}, this engine reads {FORMAT}",
            chk.display(),
            m.format
        )));
    }
    Ok(m)
}

/// Reads state file `name` of checkpoint `chk`.
///
/// # Errors
/// I/O errors.
pub(crate) fn read_state(chk: &Path, name: &str) -> Result<Vec<u8>> {
    let p = chk.join(name);
    std::fs::read(&p).map_err(|e| io(e, "read", &p))
}

/// Writes checkpoint `m` with its state files under `dir/chk-<id>`: state files first, then the
/// manifest atomically; then removes checkpoints beyond the newest `retained` and incomplete
/// ones.
///
/// # Errors
/// I/O errors (the checkpoint is then incomplete and ignored).
pub(crate) fn write(
    dir: &Path,
    m: &Manifest,
    states: &[(String, Vec<u8>)],
    retained: usize,
) -> Result<PathBuf> {
    let chk = dir.join(format!("chk-{}", m.id));
    write_into(&chk, m, states)?;
    // Older checkpoints beyond the retained count, and incomplete ones, go.
    let done = completed(dir);
    let keep: Vec<&PathBuf> = done
        .iter()
        .rev()
        .take(retained.max(1))
        .map(|(_, p)| p)
        .collect();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let is_chk = e.file_name().to_string_lossy().starts_with("chk-");
        if is_chk && !keep.contains(&&p) {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
    Ok(chk)
}

/// Writes `m` and its state files into directory `chk` (a savepoint's, or a checkpoint's):
/// state files first, then the manifest through a temporary file, synced and renamed.
///
/// # Errors
/// I/O errors.
pub(crate) fn write_into(chk: &Path, m: &Manifest, states: &[(String, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(chk).map_err(|e| io(e, "create", chk))?;
    for (name, bytes) in states {
        let p = chk.join(name);
        write_synced(&p, bytes)?;
    }
    let tmp = chk.join(format!(".{MANIFEST}.tmp"));
    let text = serde_json::to_vec_pretty(m).map_err(|e| DataFusionError::External(e.into()))?;
    write_synced(&tmp, &text)?;
    let dst = chk.join(MANIFEST);
    std::fs::rename(&tmp, &dst).map_err(|e| io(e, "publish", &dst))?;
    if let Ok(d) = std::fs::File::open(chk) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_synced(p: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(p).map_err(|e| io(e, "create", p))?;
    f.write_all(bytes).map_err(|e| io(e, "write", p))?;
    f.sync_all().map_err(|e| io(e, "sync", p))
}

/// Serialises operator state (see the module docs).
#[derive(Default)]
pub(crate) struct StateWriter {
    pub(crate) buf: Vec<u8>,
}

impl StateWriter {
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// Rows of values, each with as many values as `width` (an Arrow IPC stream of one batch).
    ///
    /// # Errors
    /// Values of one column with different types.
    pub(crate) fn rows(&mut self, width: usize, rows: &[Vec<ScalarValue>]) -> Result<()> {
        self.u64(rows.len() as u64);
        if rows.is_empty() || width == 0 {
            return Ok(());
        }
        let cols = (0..width)
            .map(|i| ScalarValue::iter_to_array(rows.iter().map(|r| r[i].clone())))
            .collect::<Result<Vec<ArrayRef>>>()?;
        self.arrays(cols)
    }

    /// Columns of equal length (an Arrow IPC stream of one batch).
    ///
    /// # Errors
    /// Arrow errors.
    pub(crate) fn arrays(&mut self, cols: Vec<ArrayRef>) -> Result<()> {
        let fields: Vec<Field> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
            .collect();
        let n = cols.first().map_or(0, |c| c.len());
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        let mut out = Vec::new();
        {
            let mut w = IpcWriter::try_new(&mut out, &batch.schema())?;
            w.write(&batch)?;
            w.finish()?;
        }
        self.bytes(&out);
        Ok(())
    }
}

/// Reads what a [`StateWriter`] wrote.
pub(crate) struct StateReader<'a> {
    buf: &'a [u8],
}

fn truncated() -> DataFusionError {
    DataFusionError::Execution("checkpoint: an operator's state file is truncated".into())
}

impl<'a> StateReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let (h, t) = self.buf.split_at_checked(8).ok_or_else(truncated)?;
        self.buf = t;
        Ok(u64::from_le_bytes(h.try_into().expect("8 bytes")))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.u64()?).map_err(|_| truncated())?;
        let (h, t) = self.buf.split_at_checked(n).ok_or_else(truncated)?;
        self.buf = t;
        Ok(h)
    }

    /// Rows written by [`StateWriter::rows`]: their count and the columns (none when empty).
    pub(crate) fn rows(&mut self) -> Result<(usize, Vec<ArrayRef>)> {
        let n = usize::try_from(self.u64()?).map_err(|_| truncated())?;
        if n == 0 {
            return Ok((0, Vec::new()));
        }
        let cols = self.arrays()?;
        Ok((n, cols))
    }

    /// Columns written by [`StateWriter::arrays`].
    pub(crate) fn arrays(&mut self) -> Result<Vec<ArrayRef>> {
        let b = self.bytes()?;
        let mut r = StreamReader::try_new(std::io::Cursor::new(b), None)?;
        match r.next() {
            Some(batch) => Ok(batch?.columns().to_vec()),
            None => Err(truncated()),
        }
    }
}

/// Writes `n` rows in `conv`'s row format as Arrow columns (portable across converters).
///
/// # Errors
/// Arrow errors.
pub(crate) fn put_rows<'a>(
    w: &mut StateWriter,
    conv: Option<&RowConverter>,
    rows: impl IntoIterator<Item = Row<'a>>,
    n: usize,
) -> Result<()> {
    w.u64(n as u64);
    if n == 0 {
        return Ok(());
    }
    let conv = conv
        .ok_or_else(|| DataFusionError::Internal("rows in state without their converter".into()))?;
    w.arrays(conv.convert_rows(rows)?)
}

/// Writes keys (bytes of `conv`'s row format) as [`put_rows`] does.
///
/// # Errors
/// Arrow errors.
pub(crate) fn put_keys<'a>(
    w: &mut StateWriter,
    conv: Option<&RowConverter>,
    keys: impl IntoIterator<Item = &'a [u8]>,
    n: usize,
) -> Result<()> {
    match conv {
        Some(c) => {
            let parser = c.parser();
            let rows: Vec<Row> = keys.into_iter().map(|k| parser.parse(k)).collect();
            put_rows(w, Some(c), rows, n)
        }
        None => put_rows(w, None, std::iter::empty(), n),
    }
}

/// Columns written by [`put_rows`] (none when there were no rows).
///
/// # Errors
/// Truncated or malformed state.
pub(crate) fn get_cols(r: &mut StateReader) -> Result<Vec<ArrayRef>> {
    if r.u64()? == 0 {
        return Ok(Vec::new());
    }
    r.arrays()
}

/// Rows written by [`put_rows`], in the row format of `conv` (created from the columns' types
/// when absent); `None` when there were none.
///
/// # Errors
/// Truncated or malformed state.
pub(crate) fn get_rows(
    r: &mut StateReader,
    conv: &mut Option<RowConverter>,
) -> Result<Option<Rows>> {
    let cols = get_cols(r)?;
    if cols.is_empty() {
        return Ok(None);
    }
    Ok(Some(super::encode(conv, &cols)?))
}

/// Values of row `r` of `cols[from..from + n]`.
pub(crate) fn row_values(
    cols: &[ArrayRef],
    from: usize,
    n: usize,
    r: usize,
) -> Result<Vec<ScalarValue>> {
    cols[from..from + n]
        .iter()
        .map(|c| ScalarValue::try_from_array(c, r))
        .collect()
}

/// Slices of row `r` of `cols[from..from + n]` (an accumulator's state for `merge_batch`).
pub(crate) fn row_slices(cols: &[ArrayRef], from: usize, n: usize, r: usize) -> Vec<ArrayRef> {
    cols[from..from + n].iter().map(|c| c.slice(r, 1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let mut w = StateWriter::default();
        w.u64(7);
        w.i64(-3);
        w.bytes(b"key");
        w.rows(
            2,
            &[
                vec![
                    ScalarValue::Int64(Some(1)),
                    ScalarValue::Utf8(Some("a".into())),
                ],
                vec![
                    ScalarValue::Int64(None),
                    ScalarValue::Utf8(Some("b".into())),
                ],
            ],
        )
        .unwrap();
        w.rows(3, &[]).unwrap();
        let mut r = StateReader::new(&w.buf);
        assert_eq!(r.u64().unwrap(), 7);
        assert_eq!(r.i64().unwrap(), -3);
        assert_eq!(r.bytes().unwrap(), b"key");
        let (n, cols) = r.rows().unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            row_values(&cols, 0, 2, 1).unwrap(),
            vec![
                ScalarValue::Int64(None),
                ScalarValue::Utf8(Some("b".into()))
            ]
        );
        assert_eq!(r.rows().unwrap().0, 0);
        assert!(r.u64().is_err(), "nothing left");
    }

    #[test]
    fn only_completed_checkpoints_count() {
        let d = tempfile::tempdir().unwrap();
        let m = |id| Manifest {
            format: FORMAT,
            id,
            timestamp: 0,
            sources: vec![],
            operators: vec![],
            sink: serde_json::Value::Null,
        };
        write(d.path(), &m(1), &[("op-0.state".into(), vec![1, 2])], 2).unwrap();
        write(d.path(), &m(2), &[], 2).unwrap();
        std::fs::create_dir_all(d.path().join("chk-3")).unwrap();
        assert_eq!(latest(d.path()).unwrap(), d.path().join("chk-2"));
        write(d.path(), &m(4), &[], 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["chk-2", "chk-4"], "retained 2, incomplete removed");
        assert_eq!(read_manifest(&d.path().join("chk-4")).unwrap().id, 4);
    }
}
