//! Writing a filesystem table: files are written into a staging directory beside the table
//! directory and renamed into place on commit, so readers never see partial output.

use super::encode::{self, CsvStyle, JsonStyle};
use super::{escape_partition_value, Format, FsConfig};
use crate::{PendingCommit, Sink, SinkContext};
use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug)]
pub(super) struct FsSink {
    cfg: Arc<FsConfig>,
    schema: SchemaRef,
}

impl FsSink {
    pub(super) fn new(cfg: Arc<FsConfig>) -> Self {
        let schema = Arc::new(cfg.def.arrow_schema());
        Self { cfg, schema }
    }
}

enum Writer {
    /// Flink's CSV text ([`encode::csv`]).
    Csv(BufWriter<File>, CsvStyle),
    /// Flink's JSON lines ([`encode::json`]).
    Json(BufWriter<File>, JsonStyle),
    Parquet(Box<ArrowWriter<File>>),
}

impl Writer {
    fn write(&mut self, b: &RecordBatch) -> Result<()> {
        use std::io::Write;
        match self {
            Writer::Csv(w, style) => w.write_all(&encode::csv(b, style)?)?,
            Writer::Json(w, style) => w.write_all(&encode::json(b, style)?)?,
            Writer::Parquet(w) => w.write(b)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Writer::Csv(mut w, _) | Writer::Json(mut w, _) => {
                std::io::Write::flush(&mut w)?;
            }
            Writer::Parquet(w) => {
                w.close()?;
            }
        }
        Ok(())
    }
}

fn staging_dir(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "table".into());
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(
        ".{name}{}{}",
        crate::access::STAGING_MARKER,
        uuid::Uuid::new_v4()
    ))
}

impl FsSink {
    fn open(&self, dir: &Path, data_schema: &SchemaRef) -> Result<Writer> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join(format!(
            "part-{}-0.{}",
            uuid::Uuid::new_v4(),
            self.cfg.format.extension()
        ));
        let f = File::create(&file)?;
        Ok(match self.cfg.format {
            Format::Csv => Writer::Csv(BufWriter::new(f), self.cfg.csv.style()),
            Format::Json => Writer::Json(BufWriter::new(f), self.cfg.json.clone()),
            Format::Parquet => Writer::Parquet(Box::new(ArrowWriter::try_new(
                f,
                data_schema.clone(),
                None,
            )?)),
        })
    }
}

#[async_trait]
impl Sink for FsSink {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn stream_writer(
        &self,
        ctx: SinkContext,
        restored: Option<&serde_json::Value>,
    ) -> Result<Option<Box<dyn crate::StreamWriter>>> {
        let w = super::stream_sink::FsStreamWriter::new(
            self.cfg.clone(),
            self.cfg.stream.clone(),
            ctx.counter.clone(),
            restored,
        )?;
        Ok(Some(Box::new(w)))
    }

    async fn write(
        &self,
        mut input: SendableRecordBatchStream,
        ctx: SinkContext,
    ) -> Result<Box<dyn PendingCommit>> {
        // Removed on drop: a cancelled or failed write leaves nothing behind; a crash leaves a
        // journal entry that the next start sweeps.
        let staging = Staging::new(staging_dir(&self.cfg.path), self.cfg.journal.as_deref());
        let (part_idx, data_idx) = self.cfg.layout();
        let data_schema = Arc::new(self.schema.project(&data_idx)?);
        let mut writers: BTreeMap<String, Writer> = BTreeMap::new();
        let result: Result<()> = async {
            while let Some(batch) = input.next().await {
                let batch = batch?;
                if batch.num_rows() == 0 {
                    continue;
                }
                let groups = if part_idx.is_empty() {
                    vec![(String::new(), None)]
                } else {
                    partition_groups(&self.cfg, &batch, &part_idx)?
                        .into_iter()
                        .map(|(k, v)| (k, Some(v)))
                        .collect()
                };
                for (rel, rows) in groups {
                    let sub = match rows {
                        None => batch.clone(),
                        Some(rows) => take_record_batch(&batch, &UInt32Array::from(rows))?,
                    };
                    let sub = sub.project(&data_idx)?;
                    if !writers.contains_key(&rel) {
                        let w = self.open(&staging.0.join(&rel), &data_schema)?;
                        writers.insert(rel.clone(), w);
                    }
                    writers.get_mut(&rel).expect("inserted").write(&sub)?;
                    ctx.counter.add(sub.num_rows() as u64, 0);
                }
            }
            Ok(())
        }
        .await;
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        let mut finish_err = None;
        for (rel, w) in writers {
            if let Err(e) = w.finish() {
                finish_err.get_or_insert(e);
            }
            dirs.insert(rel);
        }
        result.and(finish_err.map_or(Ok(()), Err))?;
        ctx.counter.add(0, dir_size(&staging.0));
        if part_idx.is_empty() {
            dirs.insert(String::new());
        }
        Ok(Box::new(FsCommit {
            staging,
            target: self.cfg.path.clone(),
            dirs,
            overwrite: ctx.overwrite,
        }))
    }
}

/// Groups row indices by their partition directory, e.g. `dt=2024-01-01/h=3`.
pub(super) fn partition_groups(
    cfg: &FsConfig,
    batch: &RecordBatch,
    part_idx: &[usize],
) -> Result<Vec<(String, Vec<u32>)>> {
    let opts = FormatOptions::default();
    let fmts = part_idx
        .iter()
        .map(|i| ArrayFormatter::try_new(batch.column(*i).as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = cfg.def.partitioned_by.iter().map(String::as_str).collect();
    let mut groups: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        let mut rel = String::new();
        for (k, (f, i)) in fmts.iter().zip(part_idx).enumerate() {
            if k > 0 {
                rel.push('/');
            }
            let v = if batch.column(*i).is_null(row) {
                cfg.default_partition.clone()
            } else {
                escape_partition_value(&f.value(row).to_string())
            };
            rel.push_str(names[k]);
            rel.push('=');
            rel.push_str(&v);
        }
        groups.entry(rel).or_default().push(row as u32);
    }
    Ok(groups.into_iter().collect())
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A staging directory, deleted when dropped, with its journal entry (if the server keeps a
/// journal) so that a process killed mid-write leaves a record of what to remove.
struct Staging(PathBuf, Option<PathBuf>);

impl Staging {
    fn new(dir: PathBuf, journal: Option<&Path>) -> Self {
        let entry = journal.and_then(|j| crate::access::journal_staging(j, &dir));
        Staging(dir, entry)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if let Some(e) = &self.1 {
            let _ = std::fs::remove_file(e);
        }
    }
}

struct FsCommit {
    staging: Staging,
    target: PathBuf,
    /// Relative directories written ("" = the table root of an unpartitioned table).
    dirs: BTreeSet<String>,
    overwrite: bool,
}

fn io(e: std::io::Error, what: &str, p: &Path) -> DataFusionError {
    DataFusionError::Execution(format!("{what} '{}': {e}", p.display()))
}

#[async_trait]
impl PendingCommit for FsCommit {
    async fn commit(self: Box<Self>) -> Result<()> {
        for rel in &self.dirs {
            let dst = self.target.join(rel);
            std::fs::create_dir_all(&dst).map_err(|e| io(e, "cannot create", &dst))?;
            if self.overwrite {
                for e in std::fs::read_dir(&dst)
                    .map_err(|e| io(e, "cannot list", &dst))?
                    .flatten()
                {
                    let p = e.path();
                    let hidden = e.file_name().to_string_lossy().starts_with(['.', '_']);
                    if hidden {
                        continue;
                    }
                    let r = if p.is_dir() {
                        // Partition directories of an unpartitioned overwrite are stale data too.
                        if rel.is_empty() {
                            std::fs::remove_dir_all(&p)
                        } else {
                            Ok(())
                        }
                    } else {
                        std::fs::remove_file(&p)
                    };
                    r.map_err(|e| io(e, "cannot remove", &p))?;
                }
            }
            let src = self.staging.0.join(rel);
            let Ok(rd) = std::fs::read_dir(&src) else {
                continue;
            };
            for e in rd.flatten() {
                if e.path().is_file() {
                    let to = dst.join(e.file_name());
                    std::fs::rename(e.path(), &to).map_err(|err| io(err, "cannot publish", &to))?;
                }
            }
        }
        Ok(())
    }

    async fn abort(self: Box<Self>) {}
}
