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
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Parquet,
    Csv,
}

pub fn cmd(c: Cmd) -> anyhow::Result<()> {
    let Cmd::Gen { scale, format, out } = c;
    let f = match format {
        Format::Parquet => GenFormat::Parquet,
        Format::Csv => GenFormat::Csv,
    };
    let s = generate(scale, &out, f)?;
    for (t, rows) in &s.tables {
        println!("{t:>10}: {rows} rows");
    }
    println!("generated TPC-H SF {scale} into {} in {:.1}s", out.display(), s.elapsed.as_secs_f64());
    Ok(())
}
