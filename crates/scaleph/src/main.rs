//! `scaleph`: the control-plane server, a client for it, and a local Flink SQL runner.

/// mimalloc for small allocations, glibc's for large ones (see the type's doc).
#[global_allocator]
static GLOBAL: scaleph_embedded::allocator::EngineAllocator =
    scaleph_embedded::allocator::EngineAllocator;

mod client;
mod example;
mod login;
mod schedule;
mod secrets;
mod serve;
mod sql;
mod store_opts;
mod tpch;
mod user;
mod workflow;

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
    /// Personal access token for client subcommands (default: the one `scaleph login` stored
    /// for --server).
    #[arg(long, global = true, env = "SCALEPH_TOKEN", hide_env_values = true)]
    token: Option<String>,
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
    /// Sign in to --server: stores a personal access token for the client subcommands.
    Login(login::LoginOpts),
    /// Revoke and forget the token stored for --server.
    Logout,
    /// User accounts, directly in the metadata store.
    #[command(subcommand)]
    User(user::Cmd),
    /// Print the permission matrix (Markdown; docs/permissions.md is generated from it).
    Permissions,
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
    /// Cron schedules of jobs on the server.
    #[command(subcommand)]
    Schedule(schedule::Cmd),
    /// Workflows (DAGs of jobs) and their runs on the server.
    #[command(subcommand)]
    Workflow(workflow::Cmd),
}

/// Turns transparent huge pages off for this process (Linux `PR_SET_THP_DISABLE`, for the
/// whole address space and every thread), whatever the allocator asks for: where THP is
/// `madvise`, a few live bytes can keep a 2 MiB page resident, and each fresh page is zeroed
/// 2 MiB at a time. Measured with mimalloc (which asks for huge pages on its arenas) on Nexmark
/// q5 / q9 (1M events): peak RSS 388 / 499 MB with THP, 345 / 468 MB without, and 12–15 %
/// less wall time.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: the call takes plain integers and touches no memory of ours; a kernel without
    // the option returns an error, which leaves THP as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Serve(o) => serve::cmd(o).await,
        Cmd::Sql(c) => sql::cmd(c).await,
        Cmd::Tpch(c) => tpch::cmd(c),
        Cmd::Secrets(c) => secrets::cmd(c).await,
        Cmd::Login(o) => login::login(&cli.server, o).await,
        Cmd::Logout => login::logout(&cli.server).await,
        Cmd::User(c) => user::cmd(c).await,
        Cmd::Permissions => {
            print!("{}", scaleph_auth::matrix::markdown());
            Ok(())
        }
        Cmd::Project(c) => client::Client::new(&cli.server, cli.token).project(c).await,
        Cmd::Datasource(c) => {
            client::Client::new(&cli.server, cli.token)
                .datasource(c)
                .await
        }
        Cmd::Job(c) => client::Client::new(&cli.server, cli.token).job(c).await,
        Cmd::Schedule(c) => {
            client::Client::new(&cli.server, cli.token)
                .schedule(c)
                .await
        }
        Cmd::Workflow(c) => {
            client::Client::new(&cli.server, cli.token)
                .workflow(c)
                .await
        }
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
