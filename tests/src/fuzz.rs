//! A seeded mutation fuzzer over everything the macro and the CLI do with a migrations
//! folder: discovery, splitting, directives, parsing, replay, lints, emission and
//! formatting (`generate`), and the lints (`lint::lint`).
//!
//! Inputs start from real migrations (the shared corpora, the project's own) and are
//! mangled byte-wise and with SQL fragments chosen to reach the lexer's and parser's
//! corners: quotes, dollar quotes, nested comments, deep nesting, directives, a BOM,
//! CRLF, NUL, invalid UTF-8, odd file names. A finding is a panic, a case slower than
//! the hang limit, generated code that does not parse, or an error that names no file.
//! Cases run on an 8 MiB stack, as rustc runs proc-macros.
//!
//! No dependency: cargo-fuzz needs a nightly toolchain. The long run is
//! `cargo run --release -p pgstrata-tests --bin pgstrata-fuzz -- SECONDS SEED`; CI runs a
//! short one and the saved regressions (`tests/fuzz/regressions/`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// One file of a case: its path inside the migrations folder, and its bytes.
pub type CaseFile = (String, Vec<u8>);

/// Fragments that open or close what the lexer tracks, or reach rarely used paths.
const FRAGMENTS: &[&str] = &[
    "'",
    "''",
    "\"",
    "$$",
    "$body$",
    "$a$",
    "/*",
    "*/",
    "--",
    "\n",
    "\r\n",
    ";",
    "E'\\'",
    "E'\\\\'",
    "U&'x'",
    "BEGIN;",
    "COMMIT;",
    "ROLLBACK;",
    "BEGIN ATOMIC",
    " END;",
    "CASE ",
    "(",
    ")",
    "[",
    "]",
    "::",
    "::int[]",
    "$1",
    "\u{feff}",
    "\0",
    "é",
    "\u{1F600}",
    "CREATE TABLE t (id int PRIMARY KEY, x text NOT NULL DEFAULT 'a');",
    "ALTER TABLE t ADD COLUMN y int NOT NULL;",
    "ALTER TABLE t DROP COLUMN x;",
    "ALTER TABLE t RENAME TO u;",
    "ALTER TABLE t RENAME COLUMN id TO key;",
    "CREATE TYPE e AS ENUM ('a', 'b');",
    "ALTER TYPE e ADD VALUE 'c' BEFORE 'a';",
    "ALTER TYPE e RENAME VALUE 'a' TO 'z';",
    "CREATE DOMAIN d AS text CHECK (VALUE <> '');",
    "CREATE TYPE c AS (a int, b text);",
    "DROP TABLE IF EXISTS t CASCADE;",
    "DROP TYPE e CASCADE;",
    "CREATE INDEX CONCURRENTLY i ON t (x);",
    "CREATE SCHEMA s;",
    "SET search_path = s, public;",
    "ALTER TABLE t SET SCHEMA s;",
    "CREATE TABLE l (LIKE t INCLUDING ALL);",
    "CREATE TABLE p (a int) PARTITION BY RANGE (a);",
    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (2);",
    "CREATE VIEW v AS SELECT * FROM t;",
    "CREATE TABLE a AS SELECT 1 AS x;",
    "DO $$ BEGIN CREATE TABLE z (a int); END $$;",
    "COMMENT ON TABLE t IS 'x';",
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
    "CREATE POLICY p ON t USING (true);",
    "-- pgstrata:no-transaction\n",
    "-- pgstrata:lock-timeout 5s\n",
    "-- pgstrata:statement-timeout x\n",
    "-- pgstrata:unknown\n",
    "-- pgstrata:replay skip\n",
    "-- pgstrata:replay CREATE TABLE r (a int);\n",
    "-- pgstrata:allow(drop-column) why\n",
    "-- migrate:up\n",
    "-- migrate:down\n",
    "-- no-transaction\n",
    "serial",
    "bigserial",
    "timestamp(3) with time zone",
    "numeric(12,2)",
    "varchar(255)[]",
    "GENERATED ALWAYS AS IDENTITY",
    "GENERATED ALWAYS AS (a + 1) STORED",
    "REFERENCES t (id) ON DELETE CASCADE",
    "\"Quoted \"\"Name\"\"\"",
    "self",
    "type",
    "Self",
];

/// Valid and broken names for the files of a case.
fn file_name(rng: &mut Rng, i: usize) -> String {
    let v = 1 + i + rng.below(3) * 1000;
    match rng.below(12) {
        0 => format!("V{v}__m{i}.sql"),
        1 => format!("U{v}__m{i}.sql"),
        2 => format!("{v}_m{i}.up.sql"),
        3 => format!("{v}_m{i}.down.sql"),
        4 => format!("{v}_m{i}.sql"),
        5 => format!("{v}_m{i}_down.sql"),
        6 => format!("{v}_m{i}/up.sql"),
        7 => format!("{v}_m{i}/down.sql"),
        8 => format!("2019-02-2{}-00294{i}_m{i}/migration.sql", rng.below(10)),
        9 => format!("V{v}_bad{i}.sql"),
        10 => format!("x{i}.sql"),
        _ => format!("V{}__m{i}.sql", "9".repeat(1 + rng.below(25))),
    }
}

/// Mutates `data` in place.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(10) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2..=4 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
                data.splice(at..at, f.iter().copied());
            }
            5 if !seeds.is_empty() => {
                let s = &seeds[rng.below(seeds.len())];
                let from = rng.below(s.len());
                let to = (from + rng.below(400)).min(s.len());
                data.splice(at..at, s[from..to].iter().copied());
            }
            6 => {
                // Deep nesting: parentheses, comments, arrays, casts.
                let depth = 1 + rng.below(20_000);
                let (open, close): (&[u8], &[u8]) = match rng.below(4) {
                    0 => (b"(", b")"),
                    1 => (b"/*", b"*/"),
                    2 => (b"ARRAY[", b"]"),
                    _ => (b"(SELECT ", b")"),
                };
                let mut s = b"SELECT ".to_vec();
                for _ in 0..depth {
                    s.extend_from_slice(open);
                }
                s.push(b'1');
                if rng.chance(80) {
                    for _ in 0..depth {
                        s.extend_from_slice(close);
                    }
                }
                s.push(b';');
                data.splice(at..at, s);
            }
            7 => {
                let b = [0xff, 0xc3, 0x80, 0xe2, 0x82][rng.below(5)];
                data.insert(at, b);
            }
            8 => {
                // A long identifier or a long run of one character.
                let n = 1 + rng.below(5_000);
                let c = [b'a', b'"', b';', b'-', b'$', b'\''][rng.below(6)];
                data.splice(at..at, std::iter::repeat_n(c, n));
            }
            _ => {
                if data.len() > 1 {
                    let a = rng.below(data.len());
                    let b = rng.below(data.len());
                    data.swap(a, b);
                }
            }
        }
    }
}

/// A new case: one to three files, from the seeds, mutated.
pub fn case(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<CaseFile> {
    let n = 1 + rng.below(3);
    (0..n)
        .map(|i| {
            let mut data = if seeds.is_empty() || rng.chance(10) {
                Vec::new()
            } else {
                seeds[rng.below(seeds.len())].clone()
            };
            if rng.chance(95) {
                mutate(rng, &mut data, seeds);
            }
            (file_name(rng, i), data)
        })
        .collect()
}

/// What running one case found wrong, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Code was generated (and parsed).
    Generated,
    /// The input was refused with errors that each name a file.
    Refused,
    /// A bug: a panic, unparsable generated code, or an error naming no file.
    Finding(String),
}

/// Runs the pipeline on the case written in `dir` (a folder named `migrations` inside
/// it is the migrations folder).
pub fn run_dir(root: &Path) -> Outcome {
    let result = std::panic::catch_unwind(|| {
        let project = pgstrata_codegen::Project::in_crate(root, "migrations", None);
        let generated = project
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|p| pgstrata_codegen::generate(p, Default::default(), None));
        let linted = project.and_then(|p| {
            pgstrata_codegen::lint::lint(&p, pgstrata_codegen::lint::Options { reversible: true })
        });
        (generated, linted)
    });
    match result {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome::Finding(format!("panic: {msg}"))
        }
        Ok((generated, linted)) => {
            let mut errors = Vec::new();
            if let Err(e) = &linted {
                errors.extend(e.iter().cloned());
            }
            let outcome = match generated {
                Ok(_) => Outcome::Generated,
                Err(e) => {
                    errors.extend(e.iter().cloned());
                    Outcome::Refused
                }
            };
            for d in &errors {
                if d.message.contains("a pgstrata bug") {
                    return Outcome::Finding(d.to_string());
                }
                if !d.file.starts_with("migrations") {
                    return Outcome::Finding(format!("an error names no file: {d}"));
                }
            }
            outcome
        }
    }
}

/// Writes a case's files under `root/migrations`.
pub fn write_case(root: &Path, files: &[CaseFile]) -> std::io::Result<()> {
    let dir = root.join("migrations");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for (name, data) in files {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, data)?;
    }
    Ok(())
}

/// Every `.sql` file under the given folders, as seeds.
pub fn seeds(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "sql") {
                if let Ok(b) = std::fs::read(&p) {
                    out.push(b);
                }
            }
        }
    }
    out.sort();
    out
}

/// The totals of a fuzzing run.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// Cases run.
    pub executions: u64,
    /// Cases whose code was generated.
    pub generated: u64,
    /// Findings, with the case that found each (saved under `save_to`).
    pub findings: Vec<(String, PathBuf)>,
}

/// Fuzzes for `duration` from `seed`, with one worker per entry of `workers` (each a
/// scratch folder). Each case runs on an 8 MiB stack; one that takes longer than
/// `hang` is a finding. Findings are saved as folders under `save_to`.
pub fn fuzz(
    seeds: &[Vec<u8>],
    seed: u64,
    duration: Duration,
    hang: Duration,
    scratch: &Path,
    workers: usize,
    save_to: &Path,
) -> Totals {
    let deadline = Instant::now() + duration;
    let (tx, rx) = mpsc::channel::<(u64, u64, Vec<(String, Vec<CaseFile>)>)>();
    std::thread::scope(|s| {
        for w in 0..workers {
            let tx = tx.clone();
            let root = scratch.join(format!("worker-{w}"));
            s.spawn(move || {
                let mut rng = Rng::new(seed ^ (w as u64).wrapping_mul(0x1234_5678_9abc));
                let (mut execs, mut generated, mut found) = (0u64, 0u64, Vec::new());
                while Instant::now() < deadline {
                    let files = case(&mut rng, seeds);
                    if write_case(&root, &files).is_err() {
                        continue;
                    }
                    let r = root.clone();
                    let (done_tx, done_rx) = mpsc::channel();
                    let runner = std::thread::Builder::new()
                        .stack_size(8 << 20)
                        .spawn(move || {
                            let _ = done_tx.send(run_dir(&r));
                        });
                    let outcome = match runner {
                        Err(e) => Outcome::Finding(format!("cannot start a case: {e}")),
                        Ok(handle) => match done_rx.recv_timeout(hang) {
                            Ok(o) => {
                                let _ = handle.join();
                                o
                            }
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                // The case thread cannot be stopped: record the finding
                                // and let this worker end.
                                found.push((format!("a case ran longer than {hang:?}"), files));
                                execs += 1;
                                break;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                let _ = handle.join();
                                Outcome::Finding("the case thread died (stack overflow?)".into())
                            }
                        },
                    };
                    execs += 1;
                    match outcome {
                        Outcome::Generated => generated += 1,
                        Outcome::Refused => {}
                        Outcome::Finding(what) => found.push((what, files)),
                    }
                }
                let _ = tx.send((execs, generated, found));
            });
        }
    });
    drop(tx);
    let mut totals = Totals::default();
    for (execs, generated, found) in rx {
        totals.executions += execs;
        totals.generated += generated;
        for (what, files) in found {
            let dir = save_to.join(format!("case-{seed:x}-{}", totals.findings.len()));
            let _ = write_case(&dir, &files);
            totals.findings.push((what, dir));
        }
    }
    totals
}

/// Peak resident memory of this process, in kB (Linux).
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
