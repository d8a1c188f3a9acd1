//! The fuzzer's short CI run (a fixed seed, 20 seconds), and the saved regressions.
//! The long run: `cargo run --release -p pgstrata-tests --bin pgstrata-fuzz -- 630 7`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pgstrata_tests::fuzz::{self, Outcome};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn twenty_seconds_of_fuzzing_find_nothing() {
    let seeds = fuzz::seeds(&[
        pgstrata_testkit::corpus("seeds"),
        pgstrata_testkit::corpus("lemmy"),
        root().join("../migrations"),
    ]);
    assert!(seeds.len() > 400, "seeds: {}", seeds.len());
    let scratch = std::env::temp_dir().join(format!("pgstrata-fuzz-ci-{}", std::process::id()));
    let saved = scratch.join("findings");
    let totals = fuzz::fuzz(
        &seeds,
        20261201,
        Duration::from_secs(20),
        Duration::from_secs(60),
        &scratch,
        1,
        &saved,
    );
    println!(
        "fuzzing: {} executions, {} generating code, {} findings",
        totals.executions,
        totals.generated,
        totals.findings.len()
    );
    assert!(totals.executions > 100, "{totals:?}");
    assert!(
        totals.generated > 0,
        "no case got through to generated code: {totals:?}"
    );
    assert!(
        totals.findings.is_empty(),
        "findings (cases kept under {}): {:?}",
        saved.display(),
        totals.findings
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Inputs that once hung, overflowed or panicked, or that push the limits on purpose;
/// large ones are built here rather than kept in the repository.
#[test]
fn saved_and_built_regressions_run_cleanly() {
    let mut cases: Vec<(String, Vec<fuzz::CaseFile>)> = Vec::new();
    let dir = root().join("fuzz/regressions");
    let mut saved: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    saved.sort();
    for case in saved {
        let mut files = Vec::new();
        let mig = case.join("migrations");
        for p in walk(&mig) {
            let name = p.strip_prefix(&mig).unwrap().display().to_string();
            files.push((name, std::fs::read(&p).unwrap()));
        }
        cases.push((case.display().to_string(), files));
    }
    let built = |name: &str, text: String| {
        (
            name.to_string(),
            vec![("V1__x.sql".to_string(), text.into_bytes())],
        )
    };
    // Many statements, each after a comment: once read in quadratic time.
    cases.push(built(
        "100,000 commented statements",
        "-- note\nSELECT 1;\n".repeat(100_000),
    ));
    // Deep nesting of every kind the parser recurses on.
    for (open, close) in [("(", ")"), ("ARRAY[", "]"), ("(SELECT ", ")"), ("/*", "*/")] {
        cases.push(built(
            &format!("20,000 x {open}"),
            format!(
                "CREATE TABLE t (id int);\nSELECT {}1{};\n",
                open.repeat(20_000),
                close.repeat(20_000)
            ),
        ));
    }
    cases.push(built(
        "unterminated dollar quote at the end",
        "SELECT $tag$ x".to_string(),
    ));
    cases.push(built(
        "a 1 MB identifier",
        format!("CREATE TABLE {} (id int);", "a".repeat(1 << 20)),
    ));
    let scratch = std::env::temp_dir().join(format!("pgstrata-fuzz-reg-{}", std::process::id()));
    for (name, files) in &cases {
        fuzz::write_case(&scratch, files).unwrap();
        let s = scratch.clone();
        let t = std::time::Instant::now();
        let outcome = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || fuzz::run_dir(&s))
            .unwrap()
            .join()
            .unwrap_or_else(|_| panic!("{name}: the case thread died"));
        println!("{name}: {outcome:?} in {:?}", t.elapsed());
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{name}: took {:?} (a debug build; minutes mean a quadratic path)",
            t.elapsed()
        );
        assert!(
            !matches!(outcome, Outcome::Finding(_)),
            "{name}: {outcome:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
