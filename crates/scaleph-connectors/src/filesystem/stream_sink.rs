//! The filesystem sink of a streaming job, as Flink's `FileSink` with its table options:
//!
//! - rows go to hidden in-progress files `.part-<uuid>-0-<n>.inprogress` in the table or
//!   partition directory (`n` counts the writer's files across partitions);
//! - a file is *rolled* (closed, pending) at every checkpoint and between checkpoints when it
//!   reaches `sink.rolling-policy.file-size` (128 MB), is older than
//!   `sink.rolling-policy.rollover-interval` (30 min) or got no rows for
//!   `sink.rolling-policy.inactivity-interval` (30 min) — as Flink 2.3 does for csv, json and
//!   parquet alike (checked: a csv sink with a 1 h rollover and 1 s checkpoints wrote
//!   `part-<uuid>-0-0` … `-0-4` over two partitions, one file per partition per checkpoint);
//! - at a checkpoint's pre-commit the open files are rolled and the pending files assigned to
//!   it (a state written before files rolled at every checkpoint may still list in-progress
//!   files with their checkpointed length);
//! - when the checkpoint completed, its pending files are renamed to `part-<uuid>-0-<n>`
//!   (visible; no extension, as Flink names them); partitions whose commit trigger fired get
//!   the `_SUCCESS` file (`sink.partition-commit.policy.kind` = `success-file`);
//! - restoring a checkpoint publishes the pending files it lists (again: renames are
//!   idempotent), truncates listed in-progress files to their checkpointed length and removes
//!   every other file of this writer written after it. So output is exactly-once.
//!
//! Partition commit triggers (Flink's `sink.partition-commit.trigger`): `process-time` commits a
//! partition once the wall clock passed its creation time plus `sink.partition-commit.delay`;
//! `partition-time` once the watermark passed the time extracted from the partition values
//! (`partition.time-extractor.timestamp-pattern`, `…timestamp-formatter`) plus the delay.

use super::encode;
use super::{Format, FsConfig};
use crate::StreamWriter;
use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::parquet::arrow::ArrowWriter;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// When a partition is complete (`sink.partition-commit.trigger`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Trigger {
    /// Wall clock past the partition's creation plus the delay.
    ProcessTime,
    /// Watermark past the partition's time plus the delay.
    PartitionTime {
        /// `partition.time-extractor.timestamp-pattern` (`$dt $hour:00:00`); `None`: the first
        /// partition value.
        pattern: Option<String>,
        /// `partition.time-extractor.timestamp-formatter` (Java `DateTimeFormatter` pattern).
        formatter: String,
        /// `sink.partition-commit.watermark-time-zone`, offset of the partition's local time.
        zone: chrono_tz::Tz,
    },
}

/// Streaming-only options of the filesystem sink.
#[derive(Debug, Clone)]
pub(crate) struct StreamOpts {
    /// `sink.rolling-policy.file-size`, bytes.
    pub(crate) file_size: u64,
    /// `sink.rolling-policy.rollover-interval`, ms.
    pub(crate) rollover_ms: i64,
    /// `sink.rolling-policy.inactivity-interval`, ms.
    pub(crate) inactivity_ms: i64,
    pub(crate) trigger: Trigger,
    /// `sink.partition-commit.delay`, ms.
    pub(crate) delay_ms: i64,
    /// `success-file` in `sink.partition-commit.policy.kind`: the file's name
    /// (`sink.partition-commit.success-file.name`).
    pub(crate) success_file: Option<String>,
}

impl Default for StreamOpts {
    fn default() -> Self {
        Self {
            file_size: 128 << 20,
            rollover_ms: 30 * 60_000,
            inactivity_ms: 30 * 60_000,
            trigger: Trigger::ProcessTime,
            delay_ms: 0,
            success_file: None,
        }
    }
}

enum Out {
    Csv(BufWriter<File>, encode::CsvStyle),
    Json(BufWriter<File>, encode::JsonStyle),
    Parquet(Box<ArrowWriter<File>>),
}

/// An open in-progress file.
struct Open {
    /// Partition directory relative to the table ("" unpartitioned).
    rel: String,
    /// The hidden file.
    tmp: PathBuf,
    /// Its name once published.
    name: String,
    out: Out,
    bytes: u64,
    created_ms: i64,
    last_ms: i64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn io(e: std::io::Error, what: &str, p: &Path) -> DataFusionError {
    DataFusionError::Execution(format!("{what} '{}': {e}", p.display()))
}

/// The streaming writer of one filesystem table.
pub(crate) struct FsStreamWriter {
    cfg: Arc<FsConfig>,
    opts: StreamOpts,
    data_schema: SchemaRef,
    part_idx: Vec<usize>,
    data_idx: Vec<usize>,
    /// `part-<uuid>`: names of this writer's files (kept across restores).
    prefix: String,
    /// Next file number.
    counter: u64,
    open: BTreeMap<String, Open>,
    /// Rolled files not yet assigned to a checkpoint: (hidden, visible).
    rolled: Vec<(PathBuf, PathBuf)>,
    /// Files waiting for their checkpoint to complete, by checkpoint id.
    pending: BTreeMap<u64, Vec<(PathBuf, PathBuf)>>,
    /// Partitions written and not committed yet: creation time (ms).
    partitions: BTreeMap<String, i64>,
    /// The watermark of each checkpoint taken (for partition-time commits).
    watermarks: BTreeMap<u64, i64>,
    counter_handle: Arc<crate::Counter>,
    /// Finished, or stopped keeping its files: dropping it removes nothing.
    settled: bool,
    /// Persisted checkpoints may restore it: dropping it removes nothing.
    retain: bool,
}

impl Drop for FsStreamWriter {
    /// A writer dropped unsettled (the job was cancelled or failed) removes its in-progress
    /// and pending files: no checkpoint will restore them (savepoints roll every file).
    fn drop(&mut self) {
        if !self.settled && !self.retain {
            let marker = format!(".{}-", self.prefix);
            remove_strays(&self.cfg.path, &marker, &[]);
        }
    }
}

impl FsStreamWriter {
    /// A writer for `cfg`, restored from `state` when given.
    pub(crate) fn new(
        cfg: Arc<FsConfig>,
        opts: StreamOpts,
        counter: Arc<crate::Counter>,
        state: Option<&Value>,
    ) -> Result<Self> {
        let (part_idx, data_idx) = cfg.layout();
        let schema = Arc::new(cfg.def.arrow_schema());
        let data_schema = Arc::new(schema.project(&data_idx)?);
        let mut w = Self {
            cfg,
            opts,
            data_schema,
            part_idx,
            data_idx,
            prefix: format!("part-{}", uuid::Uuid::new_v4()),
            counter: 0,
            open: BTreeMap::new(),
            rolled: Vec::new(),
            pending: BTreeMap::new(),
            partitions: BTreeMap::new(),
            watermarks: BTreeMap::new(),
            counter_handle: counter,
            settled: false,
            retain: false,
        };
        if let Some(s) = state {
            w.restore(s)?;
        }
        Ok(w)
    }

    fn bad_state(what: &str) -> DataFusionError {
        DataFusionError::Execution(format!(
            "the filesystem sink's checkpoint state is not usable: {what}"
        ))
    }

    /// Recovers what checkpoint state `s` describes (see the module docs).
    fn restore(&mut self, s: &Value) -> Result<()> {
        self.prefix = s["prefix"]
            .as_str()
            .filter(|p| p.starts_with("part-") && !p.contains(['/', '\\']))
            .ok_or_else(|| Self::bad_state("prefix"))?
            .to_string();
        self.counter = s["counter"]
            .as_u64()
            .ok_or_else(|| Self::bad_state("counter"))?;
        let mut keep: Vec<PathBuf> = Vec::new();
        // Files the checkpoint covers: publish (a crash may have come before or after).
        for f in s["pending"].as_array().into_iter().flatten() {
            let (rel, tmp, name) = self.entry(f)?;
            let dir = self.cfg.path.join(&rel);
            let (from, to) = (dir.join(tmp), dir.join(name));
            if from.exists() {
                std::fs::rename(&from, &to).map_err(|e| io(e, "cannot publish", &to))?;
            }
        }
        for f in s["open"].as_array().into_iter().flatten() {
            let (rel, tmp, name) = self.entry(f)?;
            let len = f["len"].as_u64().ok_or_else(|| Self::bad_state("len"))?;
            let path = self.cfg.path.join(&rel).join(&tmp);
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| io(e, "cannot recover in-progress file", &path))?;
            file.set_len(len)
                .map_err(|e| io(e, "cannot truncate", &path))?;
            drop(file);
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| io(e, "cannot reopen", &path))?;
            let out = match self.cfg.format {
                Format::Csv => Out::Csv(BufWriter::new(file), self.cfg.csv.style()),
                Format::Json => Out::Json(BufWriter::new(file), self.cfg.json.clone()),
                Format::Parquet => return Err(Self::bad_state("an open parquet file")),
            };
            keep.push(path.clone());
            let t = now_ms();
            self.open.insert(
                rel.clone(),
                Open {
                    rel,
                    tmp: path,
                    name,
                    out,
                    bytes: len,
                    created_ms: f["created"].as_i64().unwrap_or(t),
                    last_ms: t,
                },
            );
        }
        if let Some(parts) = s["partitions"].as_object() {
            for (rel, t) in parts {
                if !safe_rel(rel) {
                    return Err(Self::bad_state("partition"));
                }
                self.partitions.insert(rel.clone(), t.as_i64().unwrap_or(0));
            }
        }
        // Whatever else this writer left (written after the checkpoint) is discarded.
        let marker = format!(".{}-", self.prefix);
        remove_strays(&self.cfg.path, &marker, &keep);
        Ok(())
    }

    /// `(rel, hidden name, visible name)` of a state entry, checked to stay in the table.
    fn entry(&self, f: &Value) -> Result<(String, String, String)> {
        let get = |k: &str| {
            f[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| Self::bad_state(k))
        };
        let (rel, tmp, name) = (get("rel")?, get("tmp")?, get("name")?);
        let own = |n: &str| {
            !n.contains(['/', '\\']) && n.trim_start_matches('.').starts_with(&self.prefix)
        };
        if !safe_rel(&rel) || !own(&tmp) || !own(&name) {
            return Err(Self::bad_state("a file outside the table"));
        }
        Ok((rel, tmp, name))
    }

    fn open_file(&mut self, rel: &str) -> Result<Open> {
        let dir = self.cfg.path.join(rel);
        std::fs::create_dir_all(&dir).map_err(|e| io(e, "cannot create", &dir))?;
        let name = format!("{}-0-{}", self.prefix, self.counter);
        self.counter += 1;
        let tmp = dir.join(format!(".{name}.inprogress"));
        let f = File::create(&tmp).map_err(|e| io(e, "cannot create", &tmp))?;
        let out = match self.cfg.format {
            Format::Csv => Out::Csv(BufWriter::new(f), self.cfg.csv.style()),
            Format::Json => Out::Json(BufWriter::new(f), self.cfg.json.clone()),
            Format::Parquet => Out::Parquet(Box::new(ArrowWriter::try_new(
                f,
                self.data_schema.clone(),
                None,
            )?)),
        };
        let t = now_ms();
        self.partitions.entry(rel.to_string()).or_insert(t);
        Ok(Open {
            rel: rel.to_string(),
            tmp,
            name,
            out,
            bytes: 0,
            created_ms: t,
            last_ms: t,
        })
    }

    /// Closes `o`: its file becomes pending.
    fn roll(&mut self, o: Open) -> Result<()> {
        match o.out {
            Out::Csv(mut w, _) | Out::Json(mut w, _) => {
                w.flush().map_err(|e| io(e, "cannot write", &o.tmp))?
            }
            Out::Parquet(w) => {
                w.close()?;
            }
        }
        let dst = o.tmp.with_file_name(&o.name);
        self.rolled.push((o.tmp, dst));
        Ok(())
    }

    /// Rolls open files the time policy says are done (all when `all`).
    fn roll_due(&mut self, all: bool) -> Result<()> {
        let t = now_ms();
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| {
                all || t - o.created_ms >= self.opts.rollover_ms
                    || t - o.last_ms >= self.opts.inactivity_ms
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            let o = self.open.remove(&k).expect("listed");
            self.roll(o)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, rel: String, rows: RecordBatch) -> Result<()> {
        if !self.open.contains_key(&rel) {
            let o = self.open_file(&rel)?;
            self.open.insert(rel.clone(), o);
        }
        let o = self.open.get_mut(&rel).expect("opened");
        let n = match &mut o.out {
            Out::Csv(w, style) => {
                let b = encode::csv(&rows, style)?;
                w.write_all(&b).map_err(|e| io(e, "cannot write", &o.tmp))?;
                b.len() as u64
            }
            Out::Json(w, style) => {
                let b = encode::json(&rows, style)?;
                w.write_all(&b).map_err(|e| io(e, "cannot write", &o.tmp))?;
                b.len() as u64
            }
            Out::Parquet(w) => {
                w.write(&rows)?;
                (w.in_progress_size() as u64 + w.bytes_written() as u64).saturating_sub(o.bytes)
            }
        };
        o.bytes += n;
        o.last_ms = now_ms();
        self.counter_handle.add(rows.num_rows() as u64, n);
        if o.bytes >= self.opts.file_size {
            let o = self.open.remove(&rel).expect("open");
            self.roll(o)?;
        }
        Ok(())
    }

    /// Renames the pending files of checkpoints up to `id`.
    fn publish(&mut self, id: u64) -> Result<()> {
        let later = self.pending.split_off(&(id + 1));
        let done = std::mem::replace(&mut self.pending, later);
        for (from, to) in done.into_values().flatten() {
            std::fs::rename(&from, &to).map_err(|e| io(e, "cannot publish", &to))?;
        }
        Ok(())
    }

    /// Writes the success file of every partition whose trigger fired (all when `all`).
    fn commit_partitions(&mut self, watermark: i64, all: bool) -> Result<()> {
        let t = now_ms();
        let ready: Vec<String> = self
            .partitions
            .iter()
            .filter(|(rel, created)| {
                all || match &self.opts.trigger {
                    Trigger::ProcessTime => t >= **created + self.opts.delay_ms,
                    Trigger::PartitionTime {
                        pattern,
                        formatter,
                        zone,
                    } => partition_time(rel, pattern.as_deref(), formatter, zone)
                        .is_some_and(|pt| watermark >= pt.saturating_add(self.opts.delay_ms)),
                }
            })
            .map(|(k, _)| k.clone())
            .collect();
        for rel in ready {
            // A partition still written to stays open (process time commits it again later).
            if !all && self.open.contains_key(&rel) {
                continue;
            }
            self.partitions.remove(&rel);
            if let Some(name) = &self.opts.success_file {
                let p = self.cfg.path.join(&rel).join(name);
                std::fs::create_dir_all(self.cfg.path.join(&rel))
                    .map_err(|e| io(e, "cannot create", &p))?;
                File::create(&p).map_err(|e| io(e, "cannot write", &p))?;
            }
        }
        Ok(())
    }

    fn partition_groups(&self, batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>> {
        let data = |b: RecordBatch| b.project(&self.data_idx);
        if self.part_idx.is_empty() {
            return Ok(vec![(String::new(), data(batch.clone())?)]);
        }
        let groups = super::sink::partition_groups(&self.cfg, batch, &self.part_idx)?;
        groups
            .into_iter()
            .map(|(rel, rows)| {
                let sub = take_record_batch(batch, &UInt32Array::from(rows))?;
                Ok((rel, data(sub)?))
            })
            .collect()
    }
}

impl StreamWriter for FsStreamWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (rel, rows) in self.partition_groups(batch)? {
            self.write_rows(rel, rows)?;
        }
        Ok(())
    }

    fn pre_commit(&mut self, id: u64, watermark: i64) -> Result<Value> {
        self.roll_due(true)?;
        let mut open = Vec::new();
        for o in self.open.values_mut() {
            if let Out::Csv(w, _) | Out::Json(w, _) = &mut o.out {
                w.flush().map_err(|e| io(e, "cannot write", &o.tmp))?;
                w.get_ref()
                    .sync_data()
                    .map_err(|e| io(e, "cannot sync", &o.tmp))?;
            }
            open.push(json!({
                "rel": o.rel,
                "tmp": file_name(&o.tmp),
                "name": o.name,
                "len": o.bytes,
                "created": o.created_ms,
            }));
        }
        let rolled = std::mem::take(&mut self.rolled);
        for (tmp, _) in &rolled {
            File::open(tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| io(e, "cannot sync", tmp))?;
        }
        if !rolled.is_empty() {
            self.pending.insert(id, rolled);
        }
        self.watermarks.insert(id, watermark);
        let root = &self.cfg.path;
        let pending: Vec<Value> = self
            .pending
            .values()
            .flatten()
            .map(|(tmp, to)| {
                let rel = tmp
                    .parent()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().to_string())
                    .unwrap_or_default();
                json!({"rel": rel, "tmp": file_name(tmp), "name": file_name(to)})
            })
            .collect();
        Ok(json!({
            "prefix": self.prefix,
            "counter": self.counter,
            "open": open,
            "pending": pending,
            "partitions": self.partitions,
        }))
    }

    fn commit(&mut self, id: u64) -> Result<()> {
        self.publish(id)?;
        let wm = self.watermarks.get(&id).copied().unwrap_or(i64::MIN);
        self.watermarks = self.watermarks.split_off(&(id + 1));
        self.commit_partitions(wm, false)
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.roll_due(true)?;
        let rolled = std::mem::take(&mut self.rolled);
        let all = std::mem::take(&mut self.pending).into_values().flatten();
        for (from, to) in all.chain(rolled) {
            std::fs::rename(&from, &to).map_err(|e| io(e, "cannot publish", &to))?;
        }
        self.settled = true;
        self.commit_partitions(i64::MAX, true)
    }

    fn abort(mut self: Box<Self>, keep: bool) {
        if keep {
            for o in self.open.values_mut() {
                if let Out::Csv(w, _) | Out::Json(w, _) = &mut o.out {
                    let _ = w.flush();
                }
            }
            self.settled = true;
            return;
        }
        let marker = format!(".{}-", self.prefix);
        remove_strays(&self.cfg.path, &marker, &[]);
        self.settled = true;
    }

    fn retain_on_drop(&mut self) {
        self.retain = true;
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// A relative partition path without `..`, absolute parts or hidden names.
fn safe_rel(rel: &str) -> bool {
    Path::new(rel).components().all(
        |c| matches!(c, std::path::Component::Normal(n) if !n.to_string_lossy().starts_with('.')),
    )
}

/// Removes files under `root` whose name starts with `marker`, except `keep`.
fn remove_strays(root: &Path, marker: &str, keep: &[PathBuf]) {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() => {
                    let n = e.file_name();
                    if n.to_string_lossy().starts_with(marker) && !keep.contains(&p) {
                        let _ = std::fs::remove_file(&p);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The partition's time (epoch ms) from its directory `k1=v1/k2=v2`, as Flink's default
/// `PartitionTimeExtractor`: `pattern` with `$k` replaced by the values (none: the first
/// value), parsed with `formatter` (`yyyy-MM-dd HH:mm:ss` also takes a bare date), in `zone`.
fn partition_time(
    rel: &str,
    pattern: Option<&str>,
    formatter: &str,
    zone: &chrono_tz::Tz,
) -> Option<i64> {
    use chrono::TimeZone;
    let values: Vec<(&str, String)> = rel
        .split('/')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, super::unescape_partition_value(v)))
        .collect();
    let text = match pattern {
        None => values.first()?.1.clone(),
        Some(p) => {
            let mut t = p.to_string();
            // Longer names first, so `$hour` is not taken for `$h` + "our".
            let mut sorted = values.clone();
            sorted.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
            for (k, v) in sorted {
                t = t.replace(&format!("${k}"), &v);
            }
            t
        }
    };
    let fmt = java_to_chrono(formatter);
    let local = chrono::NaiveDateTime::parse_from_str(&text, &fmt)
        .ok()
        .or_else(|| {
            (formatter == "yyyy-MM-dd HH:mm:ss")
                .then(|| chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok())
                .flatten()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&text, &fmt)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// A Java `DateTimeFormatter` pattern of the common letters as a chrono format.
fn java_to_chrono(p: &str) -> String {
    p.replace("yyyy", "%Y")
        .replace("MM", "%m")
        .replace("dd", "%d")
        .replace("HH", "%H")
        .replace("mm", "%M")
        .replace("ss", "%S")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_times_follow_flinks_default_extractor() {
        let utc = chrono_tz::UTC;
        let fmt = "yyyy-MM-dd HH:mm:ss";
        assert_eq!(
            partition_time("dt=2024-01-02", None, fmt, &utc),
            Some(1_704_153_600_000)
        );
        assert_eq!(
            partition_time("dt=2024-01-02/hour=05", Some("$dt $hour:00:00"), fmt, &utc),
            Some(1_704_153_600_000 + 5 * 3_600_000)
        );
        let sh: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            partition_time("dt=2024-01-02", None, fmt, &sh),
            Some(1_704_153_600_000 - 8 * 3_600_000)
        );
        assert_eq!(
            partition_time("d=20240102", None, "yyyyMMdd", &utc),
            Some(1_704_153_600_000)
        );
        assert_eq!(partition_time("dt=garbage", None, fmt, &utc), None);
        assert!(safe_rel("dt=1/h=2") && safe_rel(""));
        assert!(!safe_rel("../x") && !safe_rel("/abs") && !safe_rel(".hidden"));
    }
}
