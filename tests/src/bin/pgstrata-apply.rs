//! Applies a migrations folder to a database: the child process that crash tests kill.
//!
//! Usage: pgstrata-apply DATABASE_URL DIR [--grouped]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: pgstrata-apply DATABASE_URL DIR [--grouped]");
        return ExitCode::from(2);
    };
    let grouped = args.iter().any(|a| a == "--grouped");
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
    let mut client = match postgres::Client::connect(url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect: {e}");
            return ExitCode::from(4);
        }
    };
    match migrations
        .runner()
        .grouped(grouped)
        .run_blocking(&mut client)
    {
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
