//! pgstrata beside refinery and sqlx on the same 1000 generated migrations, against the
//! same server, in one run. Prints medians and ratios; absolute times move ~25% between
//! runs on the reference machines, ratios within one run do not.
//!
//! `bench-runner all` runs every scenario; `bench-runner apply TOOL URL` is the child
//! process of the concurrent-start scenario. Each timed run gets a new database; all are
//! dropped at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod queries;

mod pg {
    pgstrata::embed_migrations!("../migrations/sqlx");
}
mod refinery_embedded {
    refinery::embed_migrations!("../migrations/refinery");
}
static SQLX: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlx");

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    /// Each migration's SQL as one message in its own transaction; no history.
    Floor,
    /// All the SQL as one message in one transaction; no history.
    FloorGrouped,
    /// The floor plus a history row per migration, inserted in the same message: what
    /// any runner that records its work must at least do.
    FloorHistory,
    Pgstrata,
    PgstrataGrouped,
    Refinery,
    Sqlx,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Floor => "floor",
            Tool::FloorGrouped => "floor-grouped",
            Tool::FloorHistory => "floor-history",
            Tool::Pgstrata => "pgstrata",
            Tool::PgstrataGrouped => "pgstrata-grouped",
            Tool::Refinery => "refinery",
            Tool::Sqlx => "sqlx",
        }
    }

    fn parse(s: &str) -> Option<Tool> {
        [
            Tool::Floor,
            Tool::FloorGrouped,
            Tool::FloorHistory,
            Tool::Pgstrata,
            Tool::PgstrataGrouped,
            Tool::Refinery,
            Tool::Sqlx,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Connects (not timed), then times one run of `tool`.
fn timed_run(tool: Tool, url: &str) -> Result<Duration, String> {
    match tool {
        Tool::Refinery => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(|e| e.to_string())?;
            let t = Instant::now();
            refinery_embedded::migrations::runner().run(&mut c).map_err(|e| e.to_string())?;
            Ok(t.elapsed())
        }
        Tool::Sqlx => rt().block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(url).await.map_err(|e| e.to_string())?;
            let t = Instant::now();
            SQLX.run(&mut c).await.map_err(|e| e.to_string())?;
            Ok(t.elapsed())
        }),
        _ => rt().block_on(async {
            let mut c = pgstrata_testkit::connect(url).await.map_err(|e| e.to_string())?;
            let t = Instant::now();
            match tool {
                Tool::Pgstrata => pg::MIGRATIONS.run(&mut c).await.map(|_| ()).map_err(|e| e.to_string())?,
                Tool::PgstrataGrouped => {
                    pg::MIGRATIONS.runner().grouped(true).run(&mut c).await.map(|_| ()).map_err(|e| e.to_string())?
                }
                Tool::Floor => {
                    for m in pg::MIGRATIONS.iter() {
                        c.batch_execute(&format!("BEGIN;\n{}\n;COMMIT;", m.up())).await.map_err(|e| e.to_string())?;
                    }
                }
                Tool::FloorHistory => {
                    c.batch_execute("CREATE TABLE floor_history (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                        .await
                        .map_err(|e| e.to_string())?;
                    for m in pg::MIGRATIONS.iter() {
                        c.batch_execute(&format!(
                            "BEGIN;\n{}\n;INSERT INTO floor_history (version, name, checksum) VALUES ({}, '{}', '{}');COMMIT;",
                            m.up(),
                            m.version(),
                            m.name().replace('\'', "''"),
                            m.checksum()
                        ))
                        .await
                        .map_err(|e| e.to_string())?;
                    }
                }
                Tool::FloorGrouped => {
                    let mut all = String::from("BEGIN;\n");
                    for m in pg::MIGRATIONS.iter() {
                        all.push_str(m.up());
                        all.push_str("\n;\n");
                    }
                    all.push_str("COMMIT;");
                    c.batch_execute(&all).await.map_err(|e| e.to_string())?;
                }
                _ => unreachable!(),
            }
            Ok(t.elapsed())
        }),
    }
}

struct Dbs {
    admin: String,
    names: Vec<String>,
}

impl Dbs {
    fn create(&mut self, label: &str) -> String {
        let name = format!("bench_{label}_{}_{}", std::process::id(), self.names.len());
        let mut c =
            postgres::Client::connect(&self.admin, postgres::NoTls).expect("admin connection");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        self.names.push(name.clone());
        pgstrata_testkit::with_database(&self.admin, &name)
    }

    fn drop_all(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            for n in self.names.drain(..) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"));
            }
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long decoding pgstrata's whole embedded migration list took, at the start of
/// the process. A start with nothing to do does not decode it (it reads only the
/// versions and checksums, inside every warm-start iteration); one that applies
/// something does, once per process.
static FIRST_USE: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("apply") => {
            let tool = args.get(2).and_then(|t| Tool::parse(t)).expect("tool");
            let url = args.get(3).expect("url");
            match timed_run(tool, url) {
                Ok(_) => std::process::exit(0),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1)
                }
            }
        }
        Some("all") | None => all(),
        Some(other) => {
            eprintln!("usage: bench-runner [all | apply TOOL URL] (got {other})");
            std::process::exit(2)
        }
    }
}

/// Whether a section runs: all of them, or those named in BENCH_ONLY
/// (cold, warm, concurrent, pipeline, rebuild, calls, inline; comma-separated).
fn section(name: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == name))
}

fn all() {
    // First thing, before any section uses the list (not in the `apply` children).
    let t = Instant::now();
    let _ = pg::MIGRATIONS.len();
    let _ = FIRST_USE.set(t.elapsed());
    if section("pipeline") {
        pipeline();
    }
    if section("cold") || section("warm") || section("concurrent") {
        database_sections();
    }
    if section("rebuild") {
        rebuilds();
    }
    if section("calls") || section("inline") {
        let server = pgstrata_testkit::server();
        let mut dbs = Dbs {
            admin: server.admin_url.clone(),
            names: Vec::new(),
        };
        if section("calls") {
            queries::calls(&mut dbs);
        }
        if section("inline") {
            queries::inline(&mut dbs);
        }
        dbs.drop_all();
    }
}

/// Read + split + parse + replay + emit, in process, as the macro does it.
fn pipeline() {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runs = env_usize("BENCH_PIPELINE_RUNS", 10);
    println!("\n## pipeline: discover, split, parse, replay, emit (median of {runs}, in process)");
    for (label, dir) in [
        ("lemmy (247 migrations)", "../tests/corpus/lemmy/migrations"),
        ("generated (1000 migrations)", "migrations/sqlx"),
    ] {
        let path = bench.join(dir);
        if !path.is_dir() {
            println!("  {label:<30} not measured: {} is missing", path.display());
            continue;
        }
        let bytes: u64 = walk(&path)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let tables = pgstrata_codegen::catalog(&path)
            .map(|c| c.tables.len())
            .unwrap_or(0);
        let mut model = Vec::new();
        let mut full = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            pgstrata_codegen::catalog(&path).expect("catalog");
            model.push(t.elapsed());
            let t = Instant::now();
            pgstrata_codegen::Project::in_crate(&bench, dir, None)
                .and_then(|p| pgstrata_codegen::expand(&p, pgstrata_codegen::Features::default(), None))
                .expect("expand");
            full.push(t.elapsed());
        }
        let (m, f) = (median(model), median(full));
        let mbs = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
        println!(
            "  {label:<30} {:.2} MB, {tables} tables: model {} ({:.0} MB/s), model + emit {} ({:.0} MB/s)",
            bytes as f64 / 1e6,
            ms(m),
            mbs(m),
            ms(f),
            mbs(f)
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "sql") {
            out.push(p);
        }
    }
    out
}

fn database_sections() {
    let server = pgstrata_testkit::server();
    let mut dbs = Dbs {
        admin: server.admin_url.clone(),
        names: Vec::new(),
    };
    let rounds = env_usize("BENCH_ROUNDS", 5);
    let n = pg::MIGRATIONS.len();
    println!(
        "pgstrata benchmark: {n} migrations, {rounds} rounds, server {}",
        if server.throwaway {
            "throwaway (fsync off)"
        } else {
            "DATABASE_URL"
        }
    );

    if section("cold") {
        cold(&mut dbs, rounds);
    }
    if section("warm") {
        warm(&mut dbs);
    }
    if section("concurrent") {
        concurrent(&mut dbs);
    }
    dbs.drop_all();
}

fn cold(dbs: &mut Dbs, rounds: usize) {
    // Cold apply: interleaved per round so drift hits every tool alike.
    let tools = [
        Tool::Floor,
        Tool::Pgstrata,
        Tool::Refinery,
        Tool::Sqlx,
        Tool::FloorGrouped,
        Tool::PgstrataGrouped,
        Tool::FloorHistory,
    ];
    let mut cold: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        // Every other round runs the tools in reverse, so that no tool always goes
        // first after the databases are created.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..tools.len()).collect()
        } else {
            (0..tools.len()).rev().collect()
        };
        for i in order {
            let t = tools[i];
            let url = dbs.create(&format!("cold_{}", t.name().replace('-', "_")));
            cold[i].push(timed_run(t, &url).unwrap_or_else(|e| panic!("{}: {e}", t.name())));
        }
    }
    // Each comparison as a ratio of medians, and as the median of the ratios within each
    // round (the two runs minutes apart at most): steadier when the machine drifts
    // during the section.
    let paired = |a: usize, b: usize| {
        let mut r: Vec<f64> = cold[a]
            .iter()
            .zip(&cold[b])
            .map(|(x, y)| x.as_secs_f64() / y.as_secs_f64())
            .collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let medians: Vec<Duration> = cold.iter().cloned().map(median).collect();
    println!("\n## cold apply into an empty database (median of {rounds})");
    for (t, d) in tools.iter().zip(&medians) {
        println!("  {:<18} {}", t.name(), secs(*d));
    }
    println!(
        "  {:<46} {:>16} {:>17}",
        "(goal for the first two: at most 1.05x)", "ratio of medians", "per-round median"
    );
    for (label, a, b) in [
        ("pgstrata / floor (tx per migration)", 1, 0),
        ("pgstrata-grouped / floor-grouped", 5, 4),
        ("pgstrata / refinery", 1, 2),
        ("pgstrata / sqlx", 1, 3),
        ("floor-history / floor (the history row alone)", 6, 0),
        ("pgstrata / floor-history", 1, 6),
    ] {
        println!(
            "  {label:<46} {:>16} {:>16.2}x",
            ratio(medians[a], medians[b]),
            paired(a, b)
        );
    }
}

fn warm(dbs: &mut Dbs) {
    // Warm start: everything applied, nothing to do, timed inside the process.
    let warm_iters = env_usize("BENCH_WARM", 30);
    println!(
        "\n## warm start, nothing to do (median of {warm_iters}, in-process, connection excluded)"
    );
    // The tools take turns, one start each per iteration, so that the machine's drift
    // during the section falls on all three alike.
    let tools = [Tool::Pgstrata, Tool::Refinery, Tool::Sqlx];
    let urls: Vec<String> = tools
        .iter()
        .map(|t| {
            let url = dbs.create(&format!("warm_{}", t.name()));
            timed_run(*t, &url).unwrap_or_else(|e| panic!("{}: {e}", t.name()));
            url
        })
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); tools.len()];
    for _ in 0..warm_iters {
        for (i, t) in tools.iter().enumerate() {
            times[i].push(timed_run(*t, &urls[i]).expect("warm run"));
        }
    }
    let mut warm = Vec::new();
    for (t, times) in tools.iter().zip(times) {
        let m = median(times);
        println!("  {:<18} {}", t.name(), ms(m));
        warm.push(m);
    }
    let faster_peer = warm[1].min(warm[2]);
    println!(
        "  pgstrata / faster peer = {} (goal: at most 0.50x)",
        ratio(warm[0], faster_peer)
    );
    let first_use = FIRST_USE.get().copied().unwrap_or_default();
    println!(
        "  (not in a start with nothing to do: pgstrata decoding its whole embedded list, once per process before applying, {})",
        ms(first_use)
    );
    // What one round trip costs on a fresh connection, and what reading the history
    // costs by itself: the floor under pgstrata's warm start.
    let url = dbs.create("warm_probe");
    timed_run(Tool::Pgstrata, &url).expect("warm probe setup");
    for (label, sql) in [
        ("one round trip (SELECT 1)", "SELECT 1"),
        (
            "history read alone",
            "SELECT version, checksum, state FROM pgstrata_migrations",
        ),
    ] {
        let times: Vec<Duration> = (0..warm_iters)
            .map(|_| {
                rt().block_on(async {
                    let c = pgstrata_testkit::connect(&url).await.expect("connect");
                    let t = Instant::now();
                    c.simple_query(sql).await.expect("probe");
                    t.elapsed()
                })
            })
            .collect();
        println!("  {label:<30} {}", ms(median(times)));
    }
}

fn concurrent(dbs: &mut Dbs) {
    // Concurrent starts: N processes at once against an empty database.
    let exe = std::env::current_exe().expect("current exe");
    println!("\n## concurrent starts against an empty database (processes that succeeded)");
    for procs in [8usize, 32] {
        let mut line = format!("  {procs:>2} processes:");
        for t in [Tool::Pgstrata, Tool::Refinery, Tool::Sqlx] {
            let url = dbs.create(&format!("conc{procs}_{}", t.name()));
            let started = Instant::now();
            let children: Vec<_> = (0..procs)
                .map(|_| {
                    Command::new(&exe)
                        .args(["apply", t.name(), &url])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("spawn")
                })
                .collect();
            let ok = children
                .into_iter()
                .filter_map(|mut c| c.wait().ok())
                .filter(|s| s.success())
                .count();
            let elapsed = started.elapsed();
            let applied = history_count(&url, t);
            line.push_str(&format!(
                "  {} {ok}/{procs} ({} history rows, {})",
                t.name(),
                applied,
                secs(elapsed)
            ));
        }
        println!("{line}");
    }
}

fn history_count(url: &str, t: Tool) -> String {
    let table = match t {
        Tool::Refinery => "refinery_schema_history",
        Tool::Sqlx => "_sqlx_migrations",
        _ => "pgstrata_migrations",
    };
    let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) else {
        return "?".into();
    };
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .map(|r| r.get::<_, i64>(0).to_string())
        .unwrap_or_else(|_| "no".into())
}

/// `cargo build --release` after editing one migration, and whether adding a file
/// rebuilds at all, for two crates per tool: a service that connects and applies its
/// migrations at startup (`service-*`, what users build), and a crate that only embeds
/// them (`rebuild-*`, the macro's own share).
fn rebuilds() {
    let all = ["pgstrata", "sqlx", "refinery"];
    rebuilds_of(
        "service",
        "a service that connects and applies them at startup",
        &all,
    );
    // refinery's rebuild is a minute or two whichever crate embeds them: measured once.
    rebuilds_of("rebuild", "a crate that only embeds them", &all[..2]);
}

fn rebuilds_of(prefix: &str, what: &str, tools: &[&str]) {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rounds = env_usize("BENCH_REBUILD_ROUNDS", 3);
    println!(
        "\n## incremental `cargo build --release` after editing one migration: {what} (median of {rounds})"
    );
    let mut results = Vec::new();
    for (tool, folder, file) in [
        ("pgstrata", "sqlx", "500_m500.sql"),
        ("sqlx", "sqlx", "500_m500.sql"),
        ("refinery", "refinery", "V500__m500.sql"),
    ]
    .into_iter()
    .filter(|(tool, _, _)| tools.contains(tool))
    {
        let krate = format!("{prefix}-{tool}");
        let path = bench.join("migrations").join(folder).join(file);
        let original = std::fs::read_to_string(&path).expect("migration 500");
        build(&bench, &krate); // warm
        let mut times = Vec::new();
        for r in 0..rounds {
            std::fs::write(&path, format!("{original}-- edit {r}\n")).expect("edit");
            let (d, _) = build(&bench, &krate);
            times.push(d);
        }
        std::fs::write(&path, &original).expect("restore");
        let m = median(times);
        // Adding a file: does the crate rebuild?
        let (_, _) = build(&bench, &krate);
        let added: PathBuf = bench
            .join("migrations")
            .join(folder)
            .join(if folder == "refinery" {
                "V100000__added.sql"
            } else {
                "100000_added.sql"
            });
        std::fs::write(&added, "CREATE TABLE added_later (id int);\n").expect("add");
        let (_, out) = build(&bench, &krate);
        let rebuilt = out.contains(&format!("Compiling {krate}"));
        std::fs::remove_file(&added).expect("remove");
        build(&bench, &krate);
        println!(
            "  {tool:<10} {}   adding a file rebuilds: {}",
            secs(m),
            if rebuilt { "yes" } else { "no" }
        );
        results.push(m);
    }
    match results[..] {
        [pg, sqlx, refinery] => println!(
            "  pgstrata / sqlx = {}, pgstrata / refinery = {}",
            ratio(pg, sqlx),
            ratio(pg, refinery)
        ),
        [pg, sqlx] => println!("  pgstrata / sqlx = {}", ratio(pg, sqlx)),
        _ => {}
    }
}

fn build(dir: &Path, krate: &str) -> (Duration, String) {
    build_env(dir, krate, &[])
}

fn build_env(dir: &Path, krate: &str, env: &[(&str, &str)]) -> (Duration, String) {
    cargo(dir, &["build", "--release", "-p", krate], env)
}

/// Runs cargo in `dir`, timed; stops the benchmark when it fails. Returns its stderr.
fn cargo(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Duration, String) {
    let t = Instant::now();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("cargo");
    let d = t.elapsed();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "cargo {} failed:\n{text}",
        args.join(" ")
    );
    (d, text)
}
