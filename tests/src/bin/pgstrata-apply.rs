//! Applies a migrations folder to a database: the child process that crash tests kill.
//!
//! Usage: pgstrata-apply DATABASE_URL DIR [--grouped | --async]
//!
//! The blocking client by default; `--async` applies with tokio-postgres, whose runs
//! pipeline the migrations' messages.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: pgstrata-apply DATABASE_URL DIR [--grouped | --async]");
        return ExitCode::from(2);
    };
    let grouped = args.iter().any(|a| a == "--grouped");
    let pipelined = args.iter().any(|a| a == "--async");
    let migrations = match pgstrata_codegen::load(dir).map(pgstrata::Migrations::new) {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    let result = if pipelined {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot start a runtime: {e}");
                return ExitCode::from(4);
            }
        };
        rt.block_on(async {
            let mut client = match pgstrata::connect(url).await {
                Ok(c) => c,
                Err(e) => return Err(format!("cannot connect: {e}")),
            };
            migrations
                .runner()
                .run(&mut client)
                .await
                .map_err(|e| e.to_string())
        })
    } else {
        match postgres::Client::connect(url, postgres::NoTls) {
            Ok(mut client) => migrations
                .runner()
                .grouped(grouped)
                .run_blocking(&mut client)
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot connect: {e}")),
        }
    };
    match result {
        Ok(report) => {
            println!(
                "applied {} already {}",
                report.applied.len(),
                report.already_applied
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
