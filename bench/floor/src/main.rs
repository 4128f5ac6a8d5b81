//! `allowly-floor serve [--dev] --db URL --listen ADDR --ready-file PATH`: the same command line as `allowly serve`,
//! so tests/support/devserver.py and bench/server/run.sh start either server the same way (`--dev` is accepted and
//! changes nothing: the floor always makes its own key).

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: under load the server spent about a fifth of its CPU in glibc's
/// malloc/free (request bodies, JSON values, receipt rows); see bench/README.md. The floor uses the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the floor's `POST /v1/check` until SIGTERM / Ctrl-C.
    Serve {
        #[arg(long)]
        dev: bool,
        #[arg(long)]
        db: String,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        #[arg(long)]
        ready_file: Option<std::path::PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let Cmd::Serve { dev: _, db, listen, ready_file } = Cli::parse().cmd;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let running = match allowly_bench_floor::start(&db, &listen).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("allowly-floor: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        if let Some(path) = &ready_file
            && let Err(e) = allowly_bench_floor::write_ready(path, &running)
        {
            eprintln!("allowly-floor: ready file {}: {e}", path.display());
            return std::process::ExitCode::FAILURE;
        }
        println!("allowly-floor listening on http://{}", running.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            r = running.server => eprintln!("allowly-floor: server stopped: {r:?}"),
        }
        std::process::ExitCode::SUCCESS
    })
}
