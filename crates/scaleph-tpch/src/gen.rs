//! TPC-H data generation into per-table directories.

use crate::queries::TABLES;
use crate::TpchError;
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Decimal128Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tpchgen::generators::*;

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenFormat {
    /// Parquet (uncompressed unless the parquet crate has a codec enabled).
    Parquet,
    /// CSV without header, `,`-delimited (Flink's csv format).
    Csv,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct GenSummary {
    /// (table, rows) in generation order.
    pub tables: Vec<(String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

const BATCH_ROWS: usize = 65_536;

enum Col {
    I64(Int64Builder),
    I32(Int32Builder),
    Str(StringBuilder),
    Dec(Decimal128Builder),
    Date(Date32Builder),
}

impl Col {
    fn new(t: &str) -> Col {
        match t {
            "BIGINT" => Col::I64(Int64Builder::new()),
            "INT" => Col::I32(Int32Builder::new()),
            "DATE" => Col::Date(Date32Builder::new()),
            "DECIMAL(15, 2)" => Col::Dec(Decimal128Builder::new()),
            _ => Col::Str(StringBuilder::new()),
        }
    }
    fn i64(&mut self, v: i64) {
        if let Col::I64(b) = self {
            b.append_value(v)
        } else {
            unreachable!("schema mismatch")
        }
    }
    fn i32(&mut self, v: i32) {
        if let Col::I32(b) = self {
            b.append_value(v)
        } else {
            unreachable!("schema mismatch")
        }
    }
    fn s(&mut self, v: impl std::fmt::Display) {
        if let Col::Str(b) = self {
            b.append_value(v.to_string())
        } else {
            unreachable!("schema mismatch")
        }
    }
    /// A decimal given in cents.
    fn dec(&mut self, cents: i64) {
        if let Col::Dec(b) = self {
            b.append_value(cents as i128)
        } else {
            unreachable!("schema mismatch")
        }
    }
    fn date(&mut self, days: i32) {
        if let Col::Date(b) = self {
            b.append_value(days)
        } else {
            unreachable!("schema mismatch")
        }
    }
    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::I64(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()),
            Col::Dec(b) => Arc::new(
                b.finish()
                    .with_precision_and_scale(15, 2)
                    .expect("valid decimal"),
            ),
            Col::Date(b) => Arc::new(b.finish()),
        }
    }
}

fn arrow_type(t: &str) -> DataType {
    match t {
        "BIGINT" => DataType::Int64,
        "INT" => DataType::Int32,
        "DATE" => DataType::Date32,
        "DECIMAL(15, 2)" => DataType::Decimal128(15, 2),
        _ => DataType::Utf8,
    }
}

/// The Arrow schema of a TPC-H table.
pub(crate) fn schema(table: &str) -> SchemaRef {
    let cols = TABLES
        .iter()
        .find(|(n, _)| *n == table)
        .expect("known table")
        .1;
    Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t)| Field::new(*n, arrow_type(t), false))
            .collect::<Vec<_>>(),
    ))
}

enum Out {
    Parquet(ArrowWriter<File>),
    Csv(csv::Writer<File>),
}

struct TableWriter {
    schema: SchemaRef,
    cols: Vec<Col>,
    rows_in_batch: usize,
    rows: u64,
    out: Out,
}

impl TableWriter {
    fn new(table: &str, dir: &Path, part: usize, format: GenFormat) -> Result<Self, TpchError> {
        let schema = schema(table);
        let cols_def = TABLES
            .iter()
            .find(|(n, _)| *n == table)
            .expect("known table")
            .1;
        let tdir = dir.join(table);
        std::fs::create_dir_all(&tdir)?;
        let out = match format {
            GenFormat::Parquet => Out::Parquet(ArrowWriter::try_new(
                File::create(tdir.join(format!("part-{part}.parquet")))?,
                schema.clone(),
                None,
            )?),
            GenFormat::Csv => Out::Csv(
                csv::WriterBuilder::new()
                    .with_header(false)
                    .build(File::create(tdir.join(format!("part-{part}.csv")))?),
            ),
        };
        Ok(Self {
            schema,
            cols: cols_def.iter().map(|(_, t)| Col::new(t)).collect(),
            rows_in_batch: 0,
            rows: 0,
            out,
        })
    }

    fn row_done(&mut self) -> Result<(), TpchError> {
        self.rows_in_batch += 1;
        self.rows += 1;
        if self.rows_in_batch >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TpchError> {
        if self.rows_in_batch == 0 {
            return Ok(());
        }
        let arrays = self.cols.iter_mut().map(Col::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        match &mut self.out {
            Out::Parquet(w) => w.write(&batch)?,
            Out::Csv(w) => w.write(&batch)?,
        }
        self.rows_in_batch = 0;
        Ok(())
    }

    fn close(mut self) -> Result<u64, TpchError> {
        self.flush()?;
        match self.out {
            Out::Parquet(w) => {
                w.close()?;
            }
            Out::Csv(w) => drop(w.into_inner()),
        }
        Ok(self.rows)
    }
}

fn gen_table(
    table: &str,
    sf: f64,
    part: i32,
    parts: i32,
    dir: &Path,
    format: GenFormat,
) -> Result<u64, TpchError> {
    let mut w = TableWriter::new(table, dir, part as usize, format)?;
    macro_rules! each {
        ($gen:expr, |$c:ident, $r:ident| $body:block) => {
            for $r in $gen {
                {
                    let $c = &mut w.cols;
                    $body
                }
                w.row_done()?;
            }
        };
    }
    match table {
        "nation" => each!(NationGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.n_nationkey);
            c[1].s(r.n_name);
            c[2].i64(r.n_regionkey);
            c[3].s(r.n_comment);
        }),
        "region" => each!(RegionGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.r_regionkey);
            c[1].s(r.r_name);
            c[2].s(r.r_comment);
        }),
        "part" => each!(PartGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.p_partkey);
            c[1].s(&r.p_name);
            c[2].s(r.p_mfgr);
            c[3].s(r.p_brand);
            c[4].s(r.p_type);
            c[5].i32(r.p_size);
            c[6].s(r.p_container);
            c[7].dec(r.p_retailprice.0);
            c[8].s(r.p_comment);
        }),
        "supplier" => each!(SupplierGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.s_suppkey);
            c[1].s(r.s_name);
            c[2].s(&r.s_address);
            c[3].i64(r.s_nationkey);
            c[4].s(&r.s_phone);
            c[5].dec(r.s_acctbal.0);
            c[6].s(&r.s_comment);
        }),
        "customer" => each!(CustomerGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.c_custkey);
            c[1].s(r.c_name);
            c[2].s(&r.c_address);
            c[3].i64(r.c_nationkey);
            c[4].s(&r.c_phone);
            c[5].dec(r.c_acctbal.0);
            c[6].s(r.c_mktsegment);
            c[7].s(r.c_comment);
        }),
        "partsupp" => each!(PartSuppGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.ps_partkey);
            c[1].i64(r.ps_suppkey);
            c[2].i32(r.ps_availqty);
            c[3].dec(r.ps_supplycost.0);
            c[4].s(r.ps_comment);
        }),
        "orders" => each!(OrderGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.o_orderkey);
            c[1].i64(r.o_custkey);
            c[2].s(r.o_orderstatus.as_str());
            c[3].dec(r.o_totalprice.0);
            c[4].date(r.o_orderdate.to_unix_epoch());
            c[5].s(r.o_orderpriority);
            c[6].s(r.o_clerk);
            c[7].i32(r.o_shippriority);
            c[8].s(r.o_comment);
        }),
        "lineitem" => each!(LineItemGenerator::new(sf, part, parts), |c, r| {
            c[0].i64(r.l_orderkey);
            c[1].i64(r.l_partkey);
            c[2].i64(r.l_suppkey);
            c[3].i32(r.l_linenumber);
            c[4].dec(r.l_quantity * 100);
            c[5].dec(r.l_extendedprice.0);
            c[6].dec(r.l_discount.0);
            c[7].dec(r.l_tax.0);
            c[8].s(r.l_returnflag);
            c[9].s(r.l_linestatus);
            c[10].date(r.l_shipdate.to_unix_epoch());
            c[11].date(r.l_commitdate.to_unix_epoch());
            c[12].date(r.l_receiptdate.to_unix_epoch());
            c[13].s(r.l_shipinstruct);
            c[14].s(r.l_shipmode);
            c[15].s(r.l_comment);
        }),
        other => return Err(TpchError::Invalid(format!("unknown TPC-H table '{other}'"))),
    }
    w.close()
}

/// Generates all eight tables at scale factor `sf` into `out/<table>/part-N.<ext>`, replacing
/// existing table directories. Large tables are generated in parallel parts (one per core).
///
/// # Errors
/// [`TpchError::Invalid`] for a non-positive scale; I/O, Arrow and parquet errors.
pub fn generate(sf: f64, out: &Path, format: GenFormat) -> Result<GenSummary, TpchError> {
    if sf.is_nan() || sf <= 0.0 {
        return Err(TpchError::Invalid(format!(
            "scale factor must be positive, got {sf}"
        )));
    }
    let t0 = Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2) as i32;
    let mut tables = Vec::new();
    for (name, _) in TABLES {
        let dir: PathBuf = out.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let parts = if matches!(*name, "nation" | "region") || sf < 0.05 {
            1
        } else {
            threads
        };
        let rows = std::thread::scope(|s| {
            let handles: Vec<_> = (1..=parts)
                .map(|p| s.spawn(move || gen_table(name, sf, p, parts, out, format)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("generator thread"))
                .sum::<Result<u64, TpchError>>()
        })?;
        tables.push((name.to_string(), rows));
    }
    Ok(GenSummary {
        tables,
        elapsed: t0.elapsed(),
    })
}
