//! The long fuzzing run: `pgstrata-fuzz [SECONDS] [SEED] [WORKERS]`.
//!
//! Seeds from `tests/corpus` and the project's migrations; findings are saved under
//! `tests/fuzz/findings/` (copy real ones into `tests/fuzz/regressions/`, which CI
//! replays). Prints executions, cases that generated code, findings and peak memory.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use pgstrata_tests::fuzz;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let workers: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = fuzz::seeds(&[
        root.join("corpus"),
        root.join("../migrations"),
        root.join("fixtures"),
    ]);
    if seeds.is_empty() {
        eprintln!("no seed files under {}", root.join("corpus").display());
        return ExitCode::from(2);
    }
    let scratch = std::env::temp_dir().join(format!("pgstrata-fuzz-{}", std::process::id()));
    let started = std::time::Instant::now();
    let totals = fuzz::fuzz(
        &seeds,
        seed,
        Duration::from_secs(seconds),
        Duration::from_secs(10),
        &scratch,
        workers,
        &root.join("fuzz/findings"),
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} executions in {secs:.0} s ({:.0}/s), {} generating code, {} findings, peak RSS {} MB, {} seeds, seed {seed}",
        totals.executions,
        totals.executions as f64 / secs,
        totals.generated,
        totals.findings.len(),
        fuzz::peak_rss_kb().unwrap_or(0) / 1024,
        seeds.len()
    );
    for (what, dir) in &totals.findings {
        println!("finding: {what}\n  case: {}", dir.display());
    }
    if totals.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
