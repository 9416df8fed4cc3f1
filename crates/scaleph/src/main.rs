//! `scaleph`: the control-plane server, a client for it, and a local Flink SQL runner.

mod client;
mod example;
mod secrets;
mod serve;
mod sql;
mod tpch;

use clap::{Parser, Subcommand};

/// scaleph — open data platform: write Flink SQL, run it, ship it.
#[derive(Parser)]
#[command(name = "scaleph", version, about)]
struct Cli {
    /// URL of a running scaleph server, for client subcommands.
    #[arg(
        long,
        global = true,
        env = "SCALEPH_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (REST API, OpenAPI, job runner).
    Serve(serve::Opts),
    /// Validate or run a Flink SQL script locally on the embedded engine.
    #[command(subcommand)]
    Sql(sql::Cmd),
    /// TPC-H data generation.
    #[command(subcommand)]
    Tpch(tpch::Cmd),
    /// Secrets at rest: key rotation.
    #[command(subcommand)]
    Secrets(secrets::Cmd),
    /// Projects on the server.
    #[command(subcommand)]
    Project(client::ProjectCmd),
    /// Datasources on the server.
    #[command(subcommand)]
    Datasource(client::DatasourceCmd),
    /// SQL jobs and their instances on the server.
    #[command(subcommand)]
    Job(client::JobCmd),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Serve(o) => serve::cmd(o).await,
        Cmd::Sql(c) => sql::cmd(c).await,
        Cmd::Tpch(c) => tpch::cmd(c),
        Cmd::Secrets(c) => secrets::cmd(c).await,
        Cmd::Project(c) => client::Client::new(&cli.server).project(c).await,
        Cmd::Datasource(c) => client::Client::new(&cli.server).datasource(c).await,
        Cmd::Job(c) => client::Client::new(&cli.server).job(c).await,
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
