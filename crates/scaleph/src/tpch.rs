//! `scaleph tpch gen`.

use clap::{Subcommand, ValueEnum};
use scaleph_tpch::{generate, GenFormat};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Cmd {
    /// Generate TPC-H tables as one directory per table.
    Gen {
        /// Scale factor (1 = about 1 GB of raw data).
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
        /// File format.
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the 22 TPC-H queries as Flink SQL job scripts (`q1.sql` … `q22.sql`).
    Scripts {
        /// Directory of generated data (from `tpch gen`).
        #[arg(long)]
        data: PathBuf,
        /// Directory the jobs write their CSV results under.
        #[arg(long)]
        results: PathBuf,
        /// Where to write the scripts.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Parquet,
    Csv,
}

pub fn cmd(c: Cmd) -> anyhow::Result<()> {
    let (scale, format, out) = match c {
        Cmd::Gen { scale, format, out } => (scale, format, out),
        Cmd::Scripts { data, results, out } => {
            std::fs::create_dir_all(&out)?;
            let abs = |p: &PathBuf| std::path::absolute(p).map(|p| p.to_string_lossy().to_string());
            let (data, results) = (abs(&data)?, abs(&results)?);
            for q in scaleph_tpch::QUERIES.iter() {
                std::fs::write(
                    out.join(format!("{}.sql", q.name)),
                    scaleph_tpch::job_script(q, &data, &results),
                )?;
            }
            println!("wrote 22 scripts into {}", out.display());
            return Ok(());
        }
    };
    let f = match format {
        Format::Parquet => GenFormat::Parquet,
        Format::Csv => GenFormat::Csv,
    };
    let s = generate(scale, &out, f)?;
    for (t, rows) in &s.tables {
        println!("{t:>10}: {rows} rows");
    }
    println!(
        "generated TPC-H SF {scale} into {} in {:.1}s",
        out.display(),
        s.elapsed.as_secs_f64()
    );
    Ok(())
}
